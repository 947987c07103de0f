"""Toolbar icons: the theme's where it has one, the style's standard pixmaps, or a small drawn one."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QWidget

#: action -> (freedesktop theme name, the style's standard pixmap)
STANDARD = {
    "new": ("document-new", QStyle.SP_FileIcon),
    "open": ("document-open", QStyle.SP_DialogOpenButton),
    "save": ("document-save", QStyle.SP_DialogSaveButton),
    "undo": ("edit-undo", QStyle.SP_ArrowBack),
    "redo": ("edit-redo", QStyle.SP_ArrowForward),
    "delete": ("edit-delete", QStyle.SP_TrashIcon),
    "rotate": ("object-rotate-right", QStyle.SP_BrowserReload),
    "run": ("media-playback-start", QStyle.SP_MediaPlay),
    "pause": ("media-playback-pause", QStyle.SP_MediaPause),
}


def _fit_icon(colour: QColor) -> QIcon:
    """Zoom to fit: a frame with its four corners marked."""
    pm = QPixmap(32, 32)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(QPen(colour, 2.2))
    path = QPainterPath()
    for (x, y, dx, dy) in ((4, 4, 1, 1), (28, 4, -1, 1), (4, 28, 1, -1), (28, 28, -1, -1)):
        path.moveTo(x, y + 8 * dy)
        path.lineTo(x, y)
        path.lineTo(x + 8 * dx, y)
    p.drawPath(path)
    p.setPen(QPen(colour, 1.6))
    p.drawRect(QRectF(10, 10, 12, 12))
    p.end()
    return QIcon(pm)


def tool_icon(name: str, widget: QWidget) -> QIcon:
    """The icon of toolbar action ``name`` (see :data:`STANDARD`; "fit": zoom to fit)."""
    if name == "fit":
        return QIcon.fromTheme("zoom-fit-best", _fit_icon(widget.palette().color(widget.foregroundRole())))
    theme, standard = STANDARD[name]
    return QIcon.fromTheme(theme, widget.style().standardIcon(standard))
