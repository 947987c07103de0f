"""Replay timeline: play, pause, speed and a scrubber, with event and alarm markers coloured by kind.

The timeline shows time and emits intent; it never seeks a recording itself.
``sig_seek_requested`` fires while the user scrubs (and on each play tick);
the replay controller decides what to show. Markers sit in three lanes:
injected events (the incident), automatic actions, alarms. In edit mode
(the incident editor) injected-event markers can be dragged to a new time,
deleted, and new ones asked for by a double click on the event lane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QSizePolicy, QStyle, QToolButton, QVBoxLayout,
                               QWidget)

from dctwin.twin.model.events import AUTOMATIC_KINDS
from dctwin.twin.model.words import hms

#: lanes of the marker strip, top to bottom ("site": the real site's own event log, for a shadow replay
#: of measured data; shown only when :meth:`TimelineView.set_lanes` asks for it)
LANES = ("event", "automatic", "alarm")
SITE_LANES = ("site",) + LANES
LANE_TITLES = {"event": "incident", "automatic": "automatic", "alarm": "alarms", "site": "site log"}

#: marker colours by kind (anything else falls back to its lane's colour)
KIND_COLOURS = {
    "fail": QColor(214, 39, 40), "repair": QColor(44, 160, 44), "utility_loss": QColor(148, 103, 189),
    "utility_restore": QColor(44, 160, 44), "generator_fail_to_start": QColor(140, 30, 140),
    "breaker_trip": QColor(200, 80, 20), "set_utilization": QColor(31, 119, 180),
    "set_setpoint": QColor(23, 190, 207), "set_outdoor_c": QColor(188, 189, 34), "cdu_pump_fail": QColor(227, 80, 150),
}
LANE_COLOURS = {"event": QColor(214, 39, 40), "automatic": QColor(255, 127, 14), "alarm": QColor(200, 30, 30),
                "site": QColor(0, 128, 128)}
#: site log entries that inform only (an alarm of the BMS, a note), by their mapped kind
SITE_KIND_COLOURS = {"site_alarm": QColor(230, 120, 0), "site_note": QColor(110, 110, 110)}
SEVERITY_COLOURS = {"info": QColor(31, 119, 180), "warning": QColor(240, 170, 0), "major": QColor(255, 110, 0),
                    "critical": QColor(200, 0, 0), "alarm": QColor(230, 60, 0)}
AUTOMATIC_COLOURS = {"throttle": QColor(255, 160, 40), "shutdown": QColor(120, 60, 20),
                     "rack_down": QColor(90, 40, 20), "ats_transfer": QColor(148, 103, 189),
                     "generator_start": QColor(110, 80, 200), "ups_on_battery": QColor(190, 120, 230),
                     "ups_battery_exhausted": QColor(60, 0, 90)}

#: drag-and-drop payload: an injected event kind dragged onto the timeline (incident editor)
EVENT_KIND_MIME = "application/x-dctwin-event-kind"

#: playback speeds (simulated seconds per wall second)
PLAY_SPEEDS = (1.0, 5.0, 10.0, 30.0, 60.0, 300.0)
#: play ticks per wall second (redraws stay under 30 Hz whatever the speed)
PLAY_HZ = 10


@dataclass
class Marker:
    """One mark on the timeline: an event, an automatic action or an alarm."""

    t_s: float
    kind: str
    lane: str  # one of LANES
    target: str = ""
    label: str = ""
    severity: str = ""
    key: Any = None  # what the owner uses to find it again (an event seq, an alarm index, an editor row)
    data: dict = field(default_factory=dict)


def marker_colour(m: Marker) -> QColor:
    """The colour of a marker: by severity for alarms, else by kind, else by lane."""
    if m.lane == "alarm":
        return SEVERITY_COLOURS.get(m.severity, LANE_COLOURS["alarm"])
    if m.lane == "automatic":
        return AUTOMATIC_COLOURS.get(m.kind, LANE_COLOURS["automatic"])
    if m.lane == "site":
        return SITE_KIND_COLOURS.get(m.kind, KIND_COLOURS.get(m.kind, LANE_COLOURS["site"]))
    return KIND_COLOURS.get(m.kind, LANE_COLOURS["event"])


def lane_of(kind: str) -> str:
    return "automatic" if kind in AUTOMATIC_KINDS else "event"


#: a time of a run as every view writes it (``hh:mm:ss``)
fmt_time = hms


class TimelineView(QWidget):
    """The painted strip: a time axis, three marker lanes and the cursor. Click or drag to scrub."""

    #: the user scrubbed to second T (emitted continuously while dragging)
    sig_seek_requested = Signal(float)
    #: the user clicked a marker (the Marker)
    sig_marker_clicked = Signal(object)
    #: edit mode: a marker was dragged to a new time (Marker, new t_s), emitted once on release
    sig_marker_moved = Signal(object, float)
    #: edit mode: the user asked to delete a marker (Delete key on the picked marker)
    sig_marker_delete_requested = Signal(object)
    #: edit mode: the user asked for a new event at second T (double click on the incident lane)
    sig_add_requested = Signal(float)
    #: edit mode: an event kind was dropped on the timeline at second T (kind, T)
    sig_kind_dropped = Signal(str, float)

    LEFT = 78
    RIGHT = 14
    AXIS_H = 20
    LANE_H = 20
    PICK_PX = 6

    #: the shortest span the strip zooms in to (s)
    MIN_SPAN_S = 10.0

    def __init__(self, parent: Optional[QWidget] = None, lanes: Sequence[str] = LANES):
        super().__init__(parent)
        self.lanes = tuple(lanes)
        self.duration_s = 0.0
        self.position_s = 0.0
        self.view_s = (0.0, 0.0)  # the span shown (zoomed with the mouse wheel)
        self.floor_s = 0.0  # the earliest second that can be shown (a moment export starts at its keyframe)
        self.markers: list[Marker] = []
        self.editable = False
        self.picked: Optional[Marker] = None
        self._press: Optional[dict] = None
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.ClickFocus)
        self.setAcceptDrops(True)
        self.setMinimumHeight(self.AXIS_H + self.LANE_H * len(self.lanes) + 8)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def sizeHint(self) -> QSize:  # Qt override
        return QSize(600, self.minimumHeight())

    def set_lanes(self, lanes: Sequence[str]) -> None:
        """Show these lanes (:data:`LANES`, or :data:`SITE_LANES` for a replay of measured data)."""
        self.lanes = tuple(lanes)
        self.setMinimumHeight(self.AXIS_H + self.LANE_H * len(self.lanes) + 8)
        self.updateGeometry()
        self.update()

    # ---- model of the strip
    def set_duration(self, duration_s: float) -> None:
        self.duration_s = max(0.0, float(duration_s))
        self.view_s = (0.0, self.duration_s)
        self.update()

    def set_view(self, t0_s: float, t1_s: float) -> None:
        """Show the span ``[t0_s, t1_s]`` (kept within the recording, at least MIN_SPAN_S long)."""
        d = self.duration_s
        span = min(max(t1_s - t0_s, min(self.MIN_SPAN_S, d)), d)
        t0 = min(max(0.0, t0_s), d - span)
        self.view_s = (t0, t0 + span)
        self.update()

    def zoom(self, factor: float, about_s: Optional[float] = None) -> None:
        """Zoom the time axis by ``factor`` (> 1 zooms in) keeping ``about_s`` (default the cursor) in place."""
        v0, v1 = self.view_s
        c = self.position_s if about_s is None else about_s
        span = (v1 - v0) / factor
        f = (c - v0) / (v1 - v0) if v1 > v0 else 0.5
        self.set_view(c - f * span, c - f * span + span)

    def zoom_reset(self) -> None:
        self.set_view(0.0, self.duration_s)

    def set_markers(self, markers: Sequence[Marker]) -> None:
        self.markers = list(markers)
        if self.picked is not None and self.picked not in self.markers:
            self.picked = None
        self.update()

    def set_position(self, t_s: float) -> None:
        self.position_s = min(max(self.floor_s, float(t_s)), self.duration_s)
        v0, v1 = self.view_s
        if not v0 <= self.position_s <= v1:  # zoomed in and the cursor left the span: page to it
            span = v1 - v0
            self.set_view(self.position_s - 0.1 * span, self.position_s + 0.9 * span)
        self.update()

    def set_floor(self, t_s: float) -> None:
        """Seconds before ``t_s`` cannot be shown (drawn hatched; scrubbing stops there)."""
        self.floor_s = min(max(0.0, float(t_s)), self.duration_s)
        self.set_position(self.position_s)

    # ---- geometry
    def _span(self) -> tuple[float, float]:
        return float(self.LEFT), float(max(self.width() - self.RIGHT, self.LEFT + 10))

    def x_of(self, t_s: float) -> float:
        x0, x1 = self._span()
        v0, v1 = self.view_s
        return x0 + (x1 - x0) * ((t_s - v0) / (v1 - v0) if v1 > v0 else 0.0)

    def t_of(self, x: float) -> float:
        x0, x1 = self._span()
        v0, v1 = self.view_s
        f = (x - x0) / (x1 - x0)
        return min(max(v0 + f * (v1 - v0), 0.0), self.duration_s)

    def lane_rect(self, lane: str) -> QRectF:
        i = self.lanes.index(lane)
        x0, x1 = self._span()
        return QRectF(x0, self.AXIS_H + i * self.LANE_H, x1 - x0, self.LANE_H)

    def marker_pos(self, m: Marker) -> QPointF:
        r = self.lane_rect(m.lane)
        return QPointF(self.x_of(m.t_s), r.center().y())

    def marker_at(self, pos: QPointF) -> Optional[Marker]:
        best, best_d = None, float(self.PICK_PX)
        x0, x1 = self._span()
        for m in self.markers:
            if m.lane not in self.lanes:
                continue
            p = self.marker_pos(m)
            if abs(p.y() - pos.y()) > self.LANE_H / 2 or not x0 - 1 <= p.x() <= x1 + 1:
                continue
            d = abs(p.x() - pos.x())
            if d <= best_d:
                best, best_d = m, d
        return best

    # ---- painting
    def paintEvent(self, event) -> None:  # Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        text = pal.text().color()
        x0, x1 = self._span()
        fm = QFontMetricsF(self.font())
        # lanes
        for i, lane in enumerate(self.lanes):
            r = self.lane_rect(lane)
            if i % 2 == 0:
                p.fillRect(r, pal.alternateBase())
            p.setPen(text)
            p.drawText(QRectF(2, r.top(), self.LEFT - 6, r.height()), Qt.AlignRight | Qt.AlignVCenter,
                       LANE_TITLES[lane])
        if self.floor_s > self.view_s[0]:
            p.fillRect(QRectF(x0, self.AXIS_H, min(self.x_of(self.floor_s), x1) - x0, self.LANE_H * len(self.lanes)),
                       QBrush(pal.mid().color(), Qt.BDiagPattern))
        # axis and ticks
        p.setPen(QPen(text, 1))
        p.drawLine(QPointF(x0, self.AXIS_H - 2), QPointF(x1, self.AXIS_H - 2))
        v0, v1 = self.view_s
        if v1 > v0:
            step = nice_step(v1 - v0, max(2, int((x1 - x0) / 90)))  # room for hh:mm:ss
            t = math.ceil(v0 / step - 1e-9) * step
            while t <= v1 + 1e-9:
                x = self.x_of(t)
                p.drawLine(QPointF(x, self.AXIS_H - 6), QPointF(x, self.AXIS_H - 2))
                label = fmt_time(t)
                w = fm.horizontalAdvance(label)
                p.drawText(QPointF(min(max(x - w / 2, 0), self.width() - w), fm.ascent() + 1), label)
                t += step
        # markers (clipped to the strip: zoomed in, some lie outside the span)
        p.setClipRect(QRectF(x0 - 8, 0, x1 - x0 + 16, self.height()))
        for m in self.markers:
            if m.lane not in self.lanes or not v0 - 1e-9 <= m.t_s <= v1 + 1e-9:
                continue
            c = marker_colour(m)
            pt = self.marker_pos(m)
            p.setPen(QPen(c.darker(140), 1))
            p.setBrush(c)
            s = 5.0 if m is not self.picked else 7.0
            if m.lane == "site":  # a real event: a circle, never a shape the simulation uses
                p.drawEllipse(pt, s, s)
            elif m.lane == "alarm":
                p.drawPolygon(QPolygonF([QPointF(pt.x(), pt.y() - s - 1), QPointF(pt.x() + s, pt.y() + s - 1),
                                         QPointF(pt.x() - s, pt.y() + s - 1)]))
            elif m.lane == "automatic":
                p.drawRect(QRectF(pt.x() - s + 1, pt.y() - s + 1, 2 * s - 2, 2 * s - 2))
            else:
                path = QPainterPath()
                path.moveTo(pt.x(), pt.y() - s)
                path.lineTo(pt.x() + s, pt.y())
                path.lineTo(pt.x(), pt.y() + s)
                path.lineTo(pt.x() - s, pt.y())
                path.closeSubpath()
                p.drawPath(path)
            if m is self.picked:
                p.setBrush(Qt.NoBrush)
                p.setPen(QPen(pal.highlight().color(), 2))
                p.drawEllipse(pt, s + 3, s + 3)
        # cursor
        x = self.x_of(self.position_s)
        p.setPen(QPen(pal.highlight().color(), 2))
        p.drawLine(QPointF(x, 2), QPointF(x, self.height() - 2))
        p.end()

    # ---- mouse
    def mousePressEvent(self, event) -> None:  # Qt override
        if event.button() != Qt.LeftButton:
            return super().mousePressEvent(event)
        pos = event.position()
        m = self.marker_at(pos)
        self._press = {"pos": pos, "marker": m, "moved": False}
        if m is None:
            self._scrub(pos.x())
        else:
            self.picked = m
            self.update()

    def mouseMoveEvent(self, event) -> None:  # Qt override
        pos = event.position()
        if self._press is None:
            m = self.marker_at(pos)
            self.setToolTip(_marker_tip(m) if m is not None else "")
            self.setCursor(Qt.PointingHandCursor if m is not None else Qt.ArrowCursor)
            return
        m = self._press["marker"]
        if m is None:
            self._scrub(pos.x())
        elif self.editable and m.lane == "event" and abs(pos.x() - self._press["pos"].x()) > 3:
            self._press["moved"] = True
            self._preview_marker(m, self.t_of(pos.x()))  # only the marker moves during the drag

    def _preview_marker(self, m: Marker, t_s: float) -> None:
        self._press.setdefault("orig_t", m.t_s)
        m.t_s = t_s
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # Qt override
        press, self._press = self._press, None
        if press is None or event.button() != Qt.LeftButton:
            return super().mouseReleaseEvent(event)
        m = press["marker"]
        if m is None:
            return
        if press.get("moved"):
            new_t = m.t_s
            m.t_s = press.get("orig_t", m.t_s)  # the owner moves it for real through its model
            self.update()
            if not self.rect().adjusted(0, -40, 0, 40).contains(event.position().toPoint()):
                self.sig_marker_delete_requested.emit(m)  # dragged off the timeline: delete it
            else:
                self.sig_marker_moved.emit(m, float(round(new_t)))
        else:
            self.sig_marker_clicked.emit(m)

    def wheelEvent(self, event) -> None:  # Qt override
        if self.duration_s <= 0:
            return
        dy = event.angleDelta().y()
        dx = event.angleDelta().x()
        v0, v1 = self.view_s
        if dx and not dy or event.modifiers() & Qt.ShiftModifier:  # pan
            shift = -(dx or dy) / 120.0 * 0.1 * (v1 - v0)
            self.set_view(v0 + shift, v1 + shift)
        elif dy:
            self.zoom(1.25 if dy > 0 else 0.8, self.t_of(event.position().x()))
        event.accept()

    def mouseDoubleClickEvent(self, event) -> None:  # Qt override
        pos = event.position()
        if pos.y() < self.AXIS_H:  # on the time axis: show the whole recording again
            self.zoom_reset()
            return
        if self.editable and self.lane_rect("event").contains(pos) and self.marker_at(pos) is None:
            self.sig_add_requested.emit(float(round(self.t_of(pos.x()))))
            return
        super().mouseDoubleClickEvent(event)

    def dragEnterEvent(self, event) -> None:  # Qt override
        if self.editable and event.mimeData().hasFormat(EVENT_KIND_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # Qt override
        if self.editable and event.mimeData().hasFormat(EVENT_KIND_MIME):
            self.set_position(self.t_of(event.position().x()))
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # Qt override
        if not (self.editable and event.mimeData().hasFormat(EVENT_KIND_MIME)):
            event.ignore()
            return
        kind = bytes(event.mimeData().data(EVENT_KIND_MIME)).decode("utf-8")
        event.acceptProposedAction()
        self.sig_kind_dropped.emit(kind, float(round(self.t_of(event.position().x()))))

    def keyPressEvent(self, event) -> None:  # Qt override
        if self.editable and self.picked is not None and event.key() in (Qt.Key_Delete, Qt.Key_Backspace):
            self.sig_marker_delete_requested.emit(self.picked)
            return
        if event.key() in (Qt.Key_Left, Qt.Key_Right) and self.duration_s > 0:
            step = 60.0 if event.modifiers() & Qt.ShiftModifier else 1.0  # a second, or a minute with Shift
            self.set_position(self.position_s + (step if event.key() == Qt.Key_Right else -step))
            self.sig_seek_requested.emit(self.position_s)
            return
        super().keyPressEvent(event)

    def _scrub(self, x: float) -> None:
        self.set_position(self.t_of(x))
        self.sig_seek_requested.emit(self.position_s)


def _marker_tip(m: Marker) -> str:
    what = m.label or f"{m.kind} {m.target}".strip()
    return f"{fmt_time(m.t_s)}  {what}"


def nice_step(span: float, n: int) -> float:
    """A round tick step (s) giving about ``n`` ticks over ``span`` seconds."""
    raw = span / max(n, 1)
    for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400):
        if s >= raw:
            return float(s)
    return float(86400 * math.ceil(raw / 86400))


class TimelinePanel(QWidget):
    """Play / pause, speed, time read-out and the :class:`TimelineView` strip."""

    #: the user (scrubbing or playing) wants to see second T
    sig_seek_requested = Signal(float)
    #: a marker was clicked
    sig_marker_clicked = Signal(object)
    #: playback started (True) or stopped (False)
    sig_playing_changed = Signal(bool)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.view = TimelineView(self)
        self.play_button = QToolButton(self)
        self.play_button.setText("Play")  # words and the style's icons: "⏸" is missing from common fonts
        self.play_button.setIcon(self.style().standardIcon(QStyle.SP_MediaPlay))
        self.play_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play or pause the replay (Space)")
        self.speed_combo = QComboBox(self)
        for s in PLAY_SPEEDS:
            self.speed_combo.addItem(f"{s:g}×", s)
        self.speed_combo.setCurrentIndex(PLAY_SPEEDS.index(10.0))
        self.speed_combo.setToolTip("Replay speed (simulated seconds per second)")
        self.time_label = QLabel(f"{fmt_time(0)} / {fmt_time(0)}", self)
        self.time_label.setMinimumWidth(self.time_label.sizeHint().width())
        self.info_label = QLabel("", self)
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 0)
        top.setSpacing(8)  # the time and the run's counts never run together ("00:02:002 events")
        top.addWidget(self.play_button)
        top.addWidget(QLabel("speed"))
        top.addWidget(self.speed_combo)
        top.addWidget(self.time_label)
        top.addWidget(self.info_label, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(top)
        lay.addWidget(self.view)
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / PLAY_HZ))
        self._timer.timeout.connect(self._on_timer_tick)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.view.sig_seek_requested.connect(self._on_view_seek_requested)
        self.view.sig_marker_clicked.connect(self.sig_marker_clicked)

    # ---- state
    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def speed(self) -> float:
        return float(self.speed_combo.currentData())

    @property
    def position_s(self) -> float:
        return self.view.position_s

    def set_duration(self, duration_s: float) -> None:
        self.view.set_duration(duration_s)
        self._update_label()

    def set_markers(self, markers: Sequence[Marker]) -> None:
        self.view.set_markers(markers)

    def set_position(self, t_s: float) -> None:
        """Move the cursor (no seek is requested: the caller already knows)."""
        self.view.set_position(t_s)
        self._update_label()

    def set_playing(self, playing: bool) -> None:
        self.play_button.setChecked(playing)

    def seek(self, t_s: float) -> None:
        """Move the cursor and ask for second ``t_s``."""
        self.set_position(t_s)
        self.sig_seek_requested.emit(self.view.position_s)

    def _update_label(self) -> None:
        self.time_label.setText(f"{fmt_time(self.view.position_s)} / {fmt_time(self.view.duration_s)}")

    # ---- handlers
    def _on_play_toggled(self, on: bool) -> None:
        if on and self.view.position_s >= self.view.duration_s:
            self.set_position(self.view.floor_s)
        if on:
            self._timer.start()
        else:
            self._timer.stop()
        self.play_button.setText("Pause" if on else "Play")
        self.play_button.setIcon(self.style().standardIcon(QStyle.SP_MediaPause if on else QStyle.SP_MediaPlay))
        self.sig_playing_changed.emit(on)

    def _on_timer_tick(self) -> None:
        t = self.view.position_s + self.speed / PLAY_HZ
        if t >= self.view.duration_s:
            t = self.view.duration_s
            self.set_playing(False)
        self.seek(t)

    def _on_view_seek_requested(self, t_s: float) -> None:
        self._update_label()
        self.sig_seek_requested.emit(t_s)
