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
                f"inlet and air temperature at {HEAT_Z_M:g} m, t = {hms(data.picture_t_s)}", QFont())
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
    for v in (scale.vmin, ASHRAE_RECOMMENDED_MAX_C, ASHRAE_A1_MAX_C, scale.vmax):
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
             "th{background:#eef}</style>",
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
        how = origin(ev.kind)
        parts.append(f"<b>{_clock(ev.t_s)}</b>&nbsp;&nbsp;{e(ev.kind.replace('_', ' '))} {e(ev.target)} "
                     f"<i>({how})</i>" + (f" &larr; {e(why)}" if why else "") + "<br>")
    parts.append("</p>")
    parts += _alarm_sections(data, by_seq, e)
    parts.append("<h2>Engine warnings</h2>")
    warnings = list(data.summary.warnings)
    parts.append("<p>" + ("<br>".join(e(w) for w in warnings) if warnings else "None: every element had the air "
                                                                                  "path it was drawn with.") + "</p>")
    parts.append("</body></html>")
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
