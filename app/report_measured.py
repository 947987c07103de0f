"""The measured side of a review report: for a shadow replay, what was measured and what estimated.

:func:`measured_html` is the report's section "Measured beside predicted": where the data came from,
the residual figures, every sensor with its role (imposed on the model, correcting the estimate,
held back to test it, or only compared) and its RMS, the site's own event log, and which values of
the report are measured and which the model's (predicted, or estimated between sensors).
:func:`render_measured_trends` draws the worst sensors' measured, predicted and estimated trends;
:func:`add_sensor_overlay` puts the sensors, coloured by their residual, on the report's floor plan.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from dctwin.twin.assimilate.review import ROLE_TEXT, measured_rows

#: sensors drawn in the report's measured trends (the worst by predicted RMS)
TREND_SENSORS = 4


def add_sensor_overlay(scene: Any, data: Any) -> None:
    """The shadow's sensors on a floor-plan scene, coloured by their residual at the picture moment."""
    view = getattr(data, "measured", None)
    if view is None:
        return
    from dctwin.widgets.sensor_overlay import SensorOverlay

    overlay = SensorOverlay()
    overlay.full_scale_k = view.residual_scale_k()
    overlay.set_sensors(data.site, data.hall_id, view.sensors)
    overlay.set_residuals(view.residuals_at(data.picture_t_s))
    scene.addItem(overlay)


def _worst(view: Any) -> list[int]:
    cands = [(s.rms, k) for k, s in enumerate(view.sensors)
             if s.rms is not None and s.unit == "K" and s.role != "boundary" and math.isfinite(s.rms)]
    return [k for _, k in sorted(cands, reverse=True)[:TREND_SENSORS]]


def render_measured_trends(data: Any, width_px: int = 1400, height_px: int = 300):
    """One plot per worst sensor: measured (black), predicted (red), estimated (blue), as a QImage."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QImage, QPainter

    from dctwin.app.report import _plot

    view = data.measured
    worst = _worst(view)
    img = QImage(width_px, max(1, len(worst)) * height_px, QImage.Format_ARGB32)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    p.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
    for row, k in enumerate(worst):
        s = view.sensors[k]
        curves = [(view.t_s, view.measured[:, k], (20, 20, 20), "measured"),
                  (view.t_s, view.predicted[:, k], (214, 39, 40), "predicted")]
        if s.role in ("assimilated", "holdout") and not np.allclose(view.estimated[:, k], view.predicted[:, k],
                                                                    equal_nan=True):
            curves.append((view.t_s, view.estimated[:, k], (31, 119, 180), "estimated"))
        _plot(p, QRectF(0, row * height_px, width_px, height_px), curves,
              f"{s.point}: {s.element} {s.quantity.replace('_', ' ')} (°C), {s.role}", data.duration_s, hlines=[],
              vline=data.picture_t_s)
    p.end()
    return img


def measured_html(data: Any, images: dict[str, str], image_width: int = 900) -> str:
    """The report's section on measured data (empty for a recording that is not a shadow replay)."""
    view = getattr(data, "measured", None)
    if view is None:
        return ""
    e = html.escape
    s = view.summary
    est = s.get("estimator", {})
    params = est.get("params", {})
    parts = ["<h2>Measured beside predicted</h2>",
             "<p>This recording is a <b>shadow replay of measured data</b>: the twin was driven by what the site "
             "measured (rack powers, which units ran and their supply temperatures, the outdoor temperature and "
             "the site's own event log) and its prediction recorded beside the sensors. In this report "
             "<b>measured</b> values are the site's sensors listed below (the dots on the floor plan, coloured by "
             "predicted minus measured at the moment shown: blue where the model is colder, red where warmer, "
             f"white where they agree, full colour at {view.residual_scale_k():g} K; nothing else is measured); "
             "<b>predicted</b> values are the model's: the racks on this report's floor plan (coloured by their "
             "predicted inlet; replayed in the window they can show the estimate instead), the heat map, the rack trends and the key "
             "figures of this report, and the red lines below; <b>estimated</b> values are the model's corrected "
             "by the sensors (" + e(est.get("method", "none")) + (
                 f" over {len(params)} parameters" if params else "") + "): the blue lines below and the column "
             "'estimated − measured' of the sensor table (the recording keeps the estimated inlet of every rack "
             "beside the predicted one). Every rack temperature not in the sensor table is predicted or "
             "estimated, never measured.</p>"]
    table = "<table width='100%' cellspacing='0' cellpadding='3' border='1' style='border-color:#bbb'>"
    parts.append(table)
    parts += [f"<tr><th width='35%'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in measured_rows(view)]
    parts.append("</table>")
    if "measured" in images:
        parts.append(f"<p>The worst sensors: measured (black), predicted (red), estimated (blue).</p>"
                     f"<p><img src='{images['measured']}' width='{image_width}'></p>")
    parts.append("<h3>Sensors</h3>" + table +
                 "<tr><th>point</th><th>element</th><th>quantity</th><th>role</th><th>predicted − measured, RMS</th>"
                 "<th>estimated − measured, RMS</th></tr>")
    for sn in view.sensors:
        def f(v: Any) -> str:
            return "—" if v is None or not math.isfinite(v) else f"{v:.3g} {sn.unit}".strip()

        parts.append(f"<tr><td>{e(sn.point)}</td><td>{e(sn.element)}</td><td>{e(sn.quantity)}</td>"
                     f"<td>{e(ROLE_TEXT.get(sn.role, sn.role))}</td><td>{e(f(sn.rms))}</td>"
                     f"<td>{e(f(sn.rms_estimated)) if sn.role != 'boundary' else '—'}</td></tr>")
    parts.append("</table>")
    if view.site_events:
        parts.append("<h3>The site's event log</h3><p>")
        for ev in view.site_events:
            applied = "applied to the model" if ev["kind"] not in ("site_alarm", "site_note") else "shown only"
            parts.append(f"<b>{_clock(ev['t_s'])}</b>&nbsp;&nbsp;{e(ev['source'])} {e(ev['raw_kind'])}: "
                         f"{e(ev['message'])} <i>({e(ev['kind'].replace('_', ' '))}"
                         f"{' ' + e(ev['target']) if ev['target'] else ''}, {applied})</i><br>")
        parts.append("</p>")
    return "\n".join(parts)


def _clock(t_s: float) -> str:
    h, rem = divmod(int(round(t_s)), 3600)
    m, sec = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{sec:02d}"
