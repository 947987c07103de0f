"""Review report of one recording: PDF (through Qt) and HTML, and the floor plan as PNG.

The report holds a title, the floor plan at the worst moment (the hottest
inlet of the run, or ``at_s``) drawn with the editor's scene, the timeline of
events and automatic actions, the alarms with their explanations, trends
with the ASHRAE limit lines, and key figures: hottest inlet, time to the first
allowable breach, ride-through, racks down, energy and PUE.

What it shows is read and worded headless by :mod:`dctwin.twin.review`
(:func:`~dctwin.twin.review.collect`, key figures, alarm explanations); this
module only draws: :func:`write_png`, :func:`write_pdf` and :func:`write_html` (they
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
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin._files import write_atomically
from dctwin.twin.errors import InputError
from dctwin.twin.model.words import hms
from dctwin.twin.physics.constants import ASHRAE_A1_MAX_C, ASHRAE_RECOMMENDED_MAX_C
from dctwin.app.report_measured import add_sensor_overlay, measured_html, render_measured_trends
from dctwin.twin.review import HEAT_Z_M, ReviewData, alarm_explanation, event_text, figures_rows, origin

#: racks drawn in the inlet trend (the hottest ones)
TREND_RACKS = 5
#: A4 less 15 mm margins, in points: the text block the PDF lays out in
PDF_TEXT_W_PT = (210 - 30) / 25.4 * 72
PDF_TEXT_H_PT = (297 - 30) / 25.4 * 72


# ---------------------------------------------------------------------- Qt rendering
def ensure_app():
    """The running QApplication, or a new one (offscreen when there is no display)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


def render_floor_plan(data: ReviewData, width_px: int = 1400, show_heat: bool = True, row_labels: bool = True):
    """The floor plan at ``data.picture_t_s`` (racks by inlet temperature, the air at 1 m) as a QImage.

    The row labels are drawn here at a size that reads on paper (the scene's own keep a constant screen
    size, tiny once the picture is scaled to a page); the colour bar below has room for all its text."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter

    from dctwin.widgets.floor_plan import PX, FloorPlanScene

    scene = FloorPlanScene(data.site, data.hall_id)
    scene.set_metric("inlet_c")
    scene.apply_summary(data.summary)
    add_sensor_overlay(scene, data)  # a shadow replay: its sensors, coloured by their residual
    if show_heat and data.heat is not None:
        temps, extent = data.heat
        scene.set_heatmap(temps, extent)
        scene.heat_item.setOpacity(0.65)
    labels = {name: item.text for name, item in scene.row_labels.items()}
    scene.show_row_labels(False)
    src = scene.hall_rect()
    m = 0.03 * max(src.width(), src.height())
    src = src.adjusted(-m, -m, m + 40, m)  # + room for the north arrow, as the editor's zoom to fit
    font = QFont()
    font.setPixelSize(text_px(width_px))
    bar_h = colour_bar_height(font)
    plan_h = int(round(width_px * src.height() / src.width()))
    h = plan_h + bar_h
    img = QImage(width_px, h, QImage.Format_ARGB32)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    p.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing | QPainter.SmoothPixmapTransform)
    target = QRectF(0, 0, width_px, plan_h)
    scene.render(p, target, src, Qt.KeepAspectRatio)
    scale = min(target.width() / src.width(), target.height() / src.height())
    dx = (target.width() - src.width() * scale) / 2 - src.left() * scale
    dy = (target.height() - src.height() * scale) / 2 - src.top() * scale

    def to_img(fp) -> QRectF:  # a footprint (x0, y0, x1, y1) in m, as a rectangle in the picture
        x0, y0, x1, y1 = fp
        return QRectF(x0 * PX * scale + dx, -y1 * PX * scale + dy, (x1 - x0) * PX * scale, (y1 - y0) * PX * scale)

    if row_labels:
        _row_labels(p, labels, scene.hall, data.site, to_img, font, target)
    _colour_bar(p, QRectF(20, plan_h, width_px - 40, bar_h), scene.temp_scale,
                f"inlet and air temperature at {HEAT_Z_M:g} m, t = {hms(data.picture_t_s)}", font)
    p.end()
    _delete_now(scene)
    return img


def render_risk_map(data: ReviewData, width_px: int = 1400):
    """The sweep's layout with its risk map: each rack filled by how many single failures take it
    down or over allowable, each cooling unit with its worst consequence (a QImage)."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

    from dctwin.twin.sim.contingency import risk_map
    from dctwin.widgets.contingency import RiskMapItem, count_colour
    from dctwin.widgets.floor_plan import FloorPlanScene

    scene = FloorPlanScene(data.sweep_site or data.site, data.sweep.get("settings", {}).get("hall_id") or data.hall_id)
    item = RiskMapItem(scene)
    scene.addItem(item)
    item.set_risk(risk_map(data.sweep.get("scenarios") or []))
    src = scene.hall_rect()
    m = 0.03 * max(src.width(), src.height())
    src = src.adjusted(-m, -m, m + 40, m)
    bar_h = 60
    h = int(round(width_px * src.height() / src.width())) + bar_h
    img = QImage(width_px, h, QImage.Format_ARGB32)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    p.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
    scene.render(p, QRectF(0, 0, width_px, h - bar_h), src, Qt.KeepAspectRatio)
    font = QFont()
    font.setPixelSize(24)
    p.setFont(font)
    x = 20.0
    y = h - bar_h + 18
    for n, label in ((0, "no single failure"), (1, "1"), (2, "2"), (3, "3 or more single failures take the "
                                                                       "rack down or over allowable")):
        p.setPen(QPen(QColor(60, 60, 60), 1))
        p.setBrush(count_colour(n))
        p.drawRect(QRectF(x, y, 26, 20))
        p.setPen(QColor(30, 30, 30))
        p.drawText(QPointF(x + 32, y + 16), label)
        x += 44 + 13 * len(label)
    p.end()
    _delete_now(scene)
    return img


def _delete_now(scene) -> None:
    """Destroy a picture's scene here, in the thread that drew it: its items hold each other (a reference cycle),
    and left to Python's collector the scene would be destroyed wherever a collection happens to run."""
    import shiboken6

    scene.clear()
    shiboken6.delete(scene)


def text_px(width_px: int) -> int:
    """Pixel size of the plan picture's own text: about 9 pt once the picture is a page wide."""
    return max(14, int(round(width_px / 55)))


def colour_bar_height(font) -> int:
    """Height of the colour-bar band: title line, bar, ticks, value line, margins."""
    from PySide6.QtGui import QFontMetricsF

    line = QFontMetricsF(font).height()
    return int(math.ceil(8 + line + 4 + BAR_PX + 6 + line + 8))


#: thickness of the colour bar, in pixels
BAR_PX = 18


def _row_labels(p, texts: dict[str, str], hall, site, to_img, font, bounds) -> None:
    """Each row's name and load (``texts``) beside the row on a light plate, never over a rack or a unit:
    west of the row, else east, else along its north or south side, at full size or a little smaller;
    where none of those is free, the row's name alone."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QFontMetricsF

    solids = [to_img(hall.footprint(e)) for e in list(hall.racks) + list(hall.cooling_units)]
    try:
        solids += [to_img(n.footprint()) for n in site.floor_power_nodes(hall.id)]
    except (AttributeError, ValueError):
        pass
    rows: dict[str, list[QRectF]] = {}
    for r in hall.racks:
        if r.row in texts:
            rows.setdefault(r.row, []).append(to_img(hall.footprint(r)))
    placed: list[QRectF] = []

    def free(rect: QRectF) -> bool:
        return (bounds.adjusted(2, 2, -2, -2).contains(rect) and not any(rect.intersects(o) for o in solids)
                and not any(rect.intersects(o) for o in placed))

    def candidates(row: QRectF, w: float, h: float, gap: float):
        cy = row.center().y()
        yield QRectF(row.left() - gap - w, cy - h / 2, w, h)  # west
        yield QRectF(row.right() + gap, cy - h / 2, w, h)  # east
        yield QRectF(row.left(), row.top() - gap - h, w, h)  # north side
        yield QRectF(row.left(), row.bottom() + gap, w, h)  # south side

    for name in sorted(rows):
        row = rows[name][0]
        for r in rows[name][1:]:
            row = row.united(r)
        chosen = None
        for text, factors in ((texts[name], (1.0, 0.85, 0.7)), (name, (1.0, 0.7))):
            for k in factors:
                f = QFont(font)
                f.setPixelSize(max(8, int(round(font.pixelSize() * k))))
                fm = QFontMetricsF(f)
                gap = f.pixelSize() * 0.3
                w, h = fm.horizontalAdvance(text) + 2 * gap, fm.height() + gap
                chosen = next(((rect, text, f) for rect in candidates(row, w, h, gap) if free(rect)), None)
                if chosen:
                    break
            if chosen:
                break
        if chosen is None:  # nowhere free: the name over the row's west end, as the editor does
            f = QFont(font)
            fm = QFontMetricsF(f)
            gap = f.pixelSize() * 0.3
            w, h = fm.horizontalAdvance(name) + 2 * gap, fm.height() + gap
            chosen = (QRectF(row.left() + gap, row.center().y() - h / 2, w, h), name, f)
        rect, text, f = chosen
        placed.append(rect)
        p.setFont(f)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(255, 255, 255, 215))
        p.drawRoundedRect(rect, 4, 4)
        p.setPen(QColor(20, 20, 20))
        p.drawText(rect, Qt.AlignCenter, text)
    p.setBrush(Qt.NoBrush)


def _colour_bar(p, band, scale, title: str, font) -> None:
    """The temperature scale in ``band`` (a rectangle as tall as :func:`colour_bar_height`): the title
    above the bar, the values below it, every text inside the band (the end values are aligned to the
    bar's ends, not centred past them; a value that would overlap its neighbour is left out)."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFontMetricsF, QPen

    fm = QFontMetricsF(font)
    line = fm.height()
    p.setFont(font)
    p.setPen(QColor(40, 40, 40))
    p.drawText(QRectF(band.left(), band.top() + 8, band.width(), line), Qt.AlignLeft | Qt.AlignVCenter,
               fm.elidedText(title, Qt.ElideRight, band.width()))
    rect = QRectF(band.left(), band.top() + 8 + line + 4, band.width(), BAR_PX)
    n = len(scale.colours)
    w = rect.width() / n
    for i, c in enumerate(scale.colours):
        p.fillRect(QRectF(rect.left() + i * w, rect.top(), w + 1, rect.height()), c)
    p.setPen(QPen(QColor(60, 60, 60), 1))
    p.setBrush(Qt.NoBrush)
    p.drawRect(rect)
    span = scale.vmax - scale.vmin
    values = [scale.vmin] + [v for v in (ASHRAE_RECOMMENDED_MAX_C, ASHRAE_A1_MAX_C) if scale.vmin < v < scale.vmax]
    values.append(scale.vmax)
    taken: list[tuple[float, float]] = []
    order = [0, len(values) - 1] + list(range(1, len(values) - 1))  # the ends first: they are always shown
    for k in order:
        v = values[k]
        x = rect.left() + rect.width() * (v - scale.vmin) / span
        text = f"{v:g} {scale.unit}"
        tw = fm.horizontalAdvance(text)
        left = rect.left() if k == 0 else (rect.right() - tw if k == len(values) - 1 else x - tw / 2)
        if any(left < b + 6 and left + tw > a - 6 for a, b in taken):
            continue
        taken.append((left, left + tw))
        p.drawLine(QPointF(x, rect.bottom()), QPointF(x, rect.bottom() + 5))
        p.drawText(QRectF(left, rect.bottom() + 6, tw + 1, line), Qt.AlignLeft | Qt.AlignVCenter, text)


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
        p.drawText(QPointF(x - 24, top - 12), fmt_time(t))
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
          hlines=[(ASHRAE_RECOMMENDED_MAX_C, f"recommended max {ASHRAE_RECOMMENDED_MAX_C:g} °C", (255, 150, 0)),
                  (ASHRAE_A1_MAX_C, f"A1 allowable max {ASHRAE_A1_MAX_C:g} °C", (220, 30, 30))],
          vline=data.picture_t_s)
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
        p.drawText(QPointF(q.x() - 24, plot.bottom() + 22), fmt_time(t))
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
#: a time of the run as every view writes it (hh:mm:ss)
_clock = hms


def report_html(data: ReviewData, images: dict[str, str], image_width: int = 900) -> str:
    """The report as HTML; ``images`` maps floor_plan / timeline / trends to an ``src`` (file or data URI)."""
    e = html.escape
    by_seq = data.event_by_seq()
    table = "<table width='100%' cellspacing='0' cellpadding='3' border='1' style='border-color:#bbb'>"
    parts = [f"<html><head><meta charset='utf-8'><title>{e(data.title)}</title>",
             "<style>body{font-family:sans-serif;font-size:10pt} table{border-collapse:collapse} "
             "td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top} "
             "th{background:#eef} h2{page-break-after:avoid;break-after:avoid} "
             "img{page-break-inside:avoid;break-inside:avoid}</style>",
             "</head><body>",
             f"<h1>{e(data.title)}</h1>",
             f"<p>File {e(data.file)}, recording {data.recording_id}: {hms(data.duration_s)} at {data.dt_s:g} s steps"
             + (f", engine {e(data.engine_version)}" if data.engine_version else "")
             + (" (review export)" if data.is_review else "") + ".</p>"]
    if data.incident_name:
        parts.append(f"<p><b>Incident:</b> {e(data.incident_name)}"
                     + (f": {e(data.incident_description)}" if data.incident_description else "") + "</p>")
    parts.append("<h2>Key figures</h2>" + table)
    parts += [f"<tr><th width='35%'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in figures_rows(data)]
    parts.append("</table>")
    parts.append(measured_html(data, images, image_width))
    parts.append(f"<h2>Floor plan at {hms(data.picture_t_s)} ({e(data.picture_reason)})</h2>")
    parts.append(f"<p><img src='{images['floor_plan']}' width='{image_width}'></p>")
    parts.append("<h2>Trends</h2>")
    parts.append(f"<p>Hottest and mean inlet, the {TREND_RACKS} hottest racks, and the ASHRAE A1 limits; "
                 f"IT, facility power and cooling duty. The dotted line marks {hms(data.picture_t_s)}.</p>")
    parts.append(f"<p><img src='{images['trends']}' width='{image_width}'></p>")
    parts.append("<h2>Timeline of events and automatic actions</h2>")
    parts.append(f"<p><img src='{images['timeline']}' width='{image_width}'></p>")
    # lists, not tables: narrow table columns wrap badly in paged output
    parts.append("<p>")
    for ev in data.events:
        cause = by_seq.get(ev.cause) if ev.cause is not None else None
        why = event_text(cause) if cause is not None else ev.condition
        how = "site log" if ev.details.get("origin") == "site" else origin(ev.kind)
        parts.append(f"<b>{_clock(ev.t_s)}</b>&nbsp;&nbsp;{e(ev.kind.replace('_', ' '))} {e(ev.target)} "
                     f"<i>({how})</i>" + (f" &larr; {e(why)}" if why else "") + "<br>")
    parts.append("</p>")
    parts += _alarm_sections(data, by_seq, e)
    parts.append("<h2>Engine warnings</h2>")
    warnings = list(data.summary.warnings)
    parts.append("<p>" + ("<br>".join(e(w) for w in warnings) if warnings else "None: every element had the air "
                                                                                  "path it was drawn with.") + "</p>")
    if data.sweep is not None:
        parts.append(sweep_html(data.sweep, images.get("risk_map"), image_width))
    parts.append("</body></html>")
    return "\n".join(parts)


#: scenarios in the report's ranked table
SWEEP_ROWS = 25


def sweep_html(sweep: dict[str, Any], risk_src: Optional[str], image_width: int = 900) -> str:
    """The contingency sweep as a section: what it ran, the risk map, the ranked table, causes and hints."""
    from dctwin.twin.sim.contingency import consequence_text

    e = html.escape
    sc = sweep.get("scenarios") or []
    st = sweep.get("settings") or {}
    lost = [o for o in sc if o.get("severity_level") == "it_lost"]
    nothing = [o["label"] for o in sc if o.get("changes_nothing")]
    parts = [f"<h2>Contingency sweep: what if it fails? (N-{st.get('n', 1)})</h2>",
             f"<p>{sweep.get('n_scenarios', len(sc))} scenarios"
             + (f" ({len(sweep['pruned'])} pairs pruned as equal to a single failure)" if sweep.get("pruned") else "")
             + f"; each from the steady state with the failure at 60 s, run to "
             f"{st.get('duration_s', 0):g} s or until steady; ranked by IT lost, then thermal breaches, then time "
             f"margin. {len(lost)} take IT down."
             + ("" if sweep.get("finished", True) else " <b>The sweep is unfinished.</b>") + "</p>"]
    if risk_src:
        parts.append("<p>Risk map: how many single failures take each rack down or over its allowable inlet; "
                     "each cooling unit with its worst consequence.</p>")
        parts.append(f"<p><img src='{risk_src}' width='{image_width}'></p>")
    parts.append("<table width='100%' cellspacing='0' cellpadding='3' border='1' style='border-color:#bbb'>"
                 "<tr><th width='7%'>Rank</th><th width='33%'>Scenario</th><th width='24%'>Consequence</th>"
                 "<th width='12%'>First breach (s)</th><th width='12%'>Hottest inlet (°C)</th>"
                 "<th width='12%'>Lowest UPS</th></tr>")
    for o in sc[:SWEEP_ROWS]:
        soc = o.get("ups_min_soc")
        first = o.get("first_over_allowable_s")
        hot = o.get("max_inlet_c")
        parts.append(f"<tr><td>{o['severity']}</td><td>{e(o['label'])}</td><td>{e(consequence_text(o))}</td>"
                     f"<td>{'—' if first is None else f'{first:.0f}'}</td>"
                     f"<td>{'—' if hot is None else f'{hot:.1f}'}</td>"
                     f"<td>{'—' if soc is None else f'{100 * soc:.0f} %'}</td></tr>")
    parts.append("</table>")
    if len(sc) > SWEEP_ROWS:
        parts.append(f"<p>... and {len(sc) - SWEEP_ROWS} less severe scenarios.</p>")
    explained = [o for o in sc[:SWEEP_ROWS] if o.get("cause") or o.get("hints")]
    if explained:
        parts.append("<h3>Why, and what would have prevented it</h3><p>")
        for o in explained:
            if o.get("cause"):
                parts.append(f"<b>{e(o['label'])}:</b> {e(o['cause'])}<br>")
            for h in o.get("hints") or []:
                parts.append(f"&nbsp;&nbsp;<i>Design hint:</i> {e(h['text'])}<br>")
        parts.append("</p>")
    if nothing:
        parts.append(f"<p><b>Changes nothing</b> ({len(nothing)}): {e(', '.join(nothing))}.</p>")
    return "\n".join(parts)


def _alarm_sections(data: ReviewData, by_seq: dict, e: Callable[[str], str]) -> list[str]:
    """The alarms as an operator worked them: one block per cause (each element's worst alarm, the
    rest under it, early warnings held back in a flood), what was shelved, and every operator action
    with who took it and when."""
    board = data.board()
    parts = ["<h2>Alarms by cause</h2>"]
    if not board.groups and not board.shelved:
        parts.append("<p>No alarms were recorded.</p>")
    for g in board.groups:
        parts.append(f"<h3>{e(g.title)}</h3><p><i>{e(g.summary())}</i><br>")
        for t in g.targets:
            a = t.head
            ack = f" <i>(acknowledged by {e(a.acked.by)} at {e(a.acked.at)})</i>" if a.acked else ""
            parts.append(f"<b>{_clock(a.t_s)}&nbsp;&nbsp;{e(a.severity)}</b>&nbsp;&nbsp;"
                         f"{e(alarm_explanation(data.alarms[a.index], by_seq))}{ack}"
                         + (f" <i>Also: {e(', '.join(f'{o.label} at {_clock(o.t_s)}' for o in t.others))}.</i>"
                            if t.others else "") + "<br>")
        if g.suppressed:
            parts.append(f"<i>Held back during the flood (early warnings only): "
                         f"{e(', '.join(t.target for t in g.suppressed))}.</i><br>")
        parts.append("</p>")
    if board.shelved:
        parts.append("<h3>Shelved</h3><p>" + "<br>".join(
            f"{_clock(a.t_s)}&nbsp;&nbsp;{e(a.label)} on {e(a.target)} <i>(shelved by {e(a.shelved.by)} at "
            f"{e(a.shelved.at)})</i>" for a in board.shelved) + "</p>")
    parts.append("<h2>Operator actions</h2>")
    parts.append("<p>" + ("<br>".join(e(a.text()) for a in data.actions) if data.actions
                          else "None: no alarm was acknowledged or shelved.") + "</p>")
    return parts


def _images(data: ReviewData) -> dict[str, Any]:
    out = {"floor_plan": render_floor_plan(data), "timeline": render_timeline(data), "trends": render_trends(data)}
    if data.sweep is not None:
        out["risk_map"] = render_risk_map(data)
    if getattr(data, "measured", None) is not None:
        out["measured"] = render_measured_trends(data)
    return out


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

    def checked(tmp: str) -> None:
        write(tmp)
        if os.path.getsize(tmp) == 0:
            raise InputError(f"{out}: rendering produced an empty file")

    return write_atomically(out, checked)


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


def _has_image(block) -> bool:
    it = block.begin()
    while not it.atEnd():
        if it.fragment().charFormat().isImageFormat():
            return True
        it += 1
    return False


def _kept_with(block):
    """The last block a heading must share its page with: the next block, or the picture it introduces
    when that follows within two blocks (a heading, a line of text, then the figure)."""
    nxt = block.next()
    probe = nxt
    for _ in range(2):
        if not probe.isValid() or probe.blockFormat().headingLevel() > 0:
            break
        if _has_image(probe):
            return probe
        probe = probe.next()
    return nxt


def keep_headings_with_next(doc, max_rounds: int = 50) -> int:
    """Move each heading that the page layout leaves apart from what follows it (the heading at the foot
    of one page, its figure or first lines on the next) to the top of the next page. ``doc`` has its page
    size set (a paginated QTextDocument). Returns how many headings were moved."""
    from PySide6.QtGui import QTextCursor, QTextFormat

    page_h = doc.pageSize().height()
    layout = doc.documentLayout()
    moved = 0
    for _ in range(max_rounds):  # each move shifts what follows: lay out again and look again
        block = doc.begin()
        fixed = False
        while block.isValid():
            fmt = block.blockFormat()
            if fmt.headingLevel() > 0 and fmt.pageBreakPolicy() == QTextFormat.PageBreak_Auto:
                last = _kept_with(block)
                if last.isValid():
                    top = layout.blockBoundingRect(block).top()
                    bottom = layout.blockBoundingRect(last).bottom()
                    page = int(top // page_h)
                    at_top = top - page * page_h < 0.05 * page_h  # already at the top: a move gains nothing
                    if int((bottom - 1e-3) // page_h) > page and not at_top:
                        fmt.setPageBreakPolicy(QTextFormat.PageBreak_AlwaysBefore)
                        block_cursor = QTextCursor(block)
                        block_cursor.setBlockFormat(fmt)
                        moved += 1
                        fixed = True
                        break
            block = block.next()
        if not fixed:
            break
    return moved


def pdf_document(data: ReviewData, imgs: Optional[dict[str, Any]] = None):
    """The report as a paginated QTextDocument (A4 text block, in points), laid out as printed: no heading
    is left at the foot of a page apart from its figure."""
    from PySide6.QtCore import QSizeF, QUrl
    from PySide6.QtGui import QTextDocument

    imgs = _images(data) if imgs is None else imgs
    text = report_html(data, {k: f"img://{k}.png" for k in imgs}, image_width=int(PDF_TEXT_W_PT) - 4)
    doc = QTextDocument()
    doc.setPageSize(QSizeF(PDF_TEXT_W_PT, PDF_TEXT_H_PT))  # points: images and text scale with the page
    for k, img in imgs.items():
        doc.addResource(QTextDocument.ImageResource, QUrl(f"img://{k}.png"), img)
    doc.setHtml(text)
    keep_headings_with_next(doc)
    return doc


def write_pdf(data: ReviewData, path: str | os.PathLike) -> Path:
    """The report as a PDF (A4, through QTextDocument and QPdfWriter)."""
    ensure_app()
    from PySide6.QtCore import QMarginsF
    from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter

    doc = pdf_document(data)

    def write(tmp: str) -> None:
        writer = QPdfWriter(tmp)
        writer.setTitle(data.title)
        writer.setCreator("dctwin")
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.A4), QPageLayout.Portrait, QMarginsF(15, 15, 15, 15),
                                         QPageLayout.Millimeter))
        doc.print_(writer)
        del writer  # flushes and closes the file

    return _atomic(path, write)
