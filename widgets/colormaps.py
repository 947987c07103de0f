"""Colour maps and colour constants shared by the floor plan, heat map and colour bar, and the
note colours of labels that ask for attention without alarm.

Temperatures use pyqtgraph's perceptual ``CET-R4`` rainbow (blue = cool,
red = hot) sampled once into a lookup table, so mapping a value is an index.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QWidget

#: temperature range of the colour scale (°C): below the A1 allowable minimum to above A3 maximum
TEMP_MIN_C = 15.0
TEMP_MAX_C = 40.0
#: colours of the ASHRAE compliance states
STATE_COLOURS = {
    "ok": QColor(76, 175, 80),
    "recommended": QColor(76, 175, 80),
    "allowable": QColor(255, 193, 7),
    "out_of_allowable": QColor(211, 47, 47),
    "warning": QColor(255, 152, 0),
    "throttled": QColor(255, 87, 34),
    "critical": QColor(211, 47, 47),
    "shutdown": QColor(97, 97, 97),
    "off": QColor(97, 97, 97),
    "unpowered": QColor(60, 60, 60),
}
UNKNOWN_COLOUR = QColor(150, 160, 170)
#: notes that ask for attention without alarm (the read-only banner, the "assumed" badge)
NOTE_BACKGROUND, NOTE_TEXT, NOTE_EDGE = "#fff3c4", "#3a2f00", "#d8c16a"

_LUT_SIZE = 256


class ColorScale:
    """A linear map from a value range onto a pyqtgraph colour map (lookup table of RGBA bytes)."""

    def __init__(self, name: str = "CET-R4", vmin: float = TEMP_MIN_C, vmax: float = TEMP_MAX_C,
                 unit: str = "°C"):
        self.name = name
        self.vmin = vmin
        self.vmax = vmax
        self.unit = unit
        cmap = pg.colormap.get(name)
        self.lut = cmap.getLookupTable(0.0, 1.0, _LUT_SIZE, alpha=True).astype(np.uint8)  # (N, 4) RGBA
        #: one shared QColor per lookup-table entry (compare by identity, no allocation per rack)
        self.colours = [QColor(int(r), int(g), int(b)) for r, g, b, _ in self.lut]

    def index(self, value: float) -> int:
        if value is None or not math.isfinite(value):
            return -1
        f = (value - self.vmin) / (self.vmax - self.vmin) if self.vmax > self.vmin else 0.0
        return int(min(max(f, 0.0), 1.0) * (_LUT_SIZE - 1))

    def colour(self, value: float) -> QColor:
        """The colour of one value (grey for NaN / missing)."""
        i = self.index(value)
        return UNKNOWN_COLOUR if i < 0 else self.colours[i]

    def indices(self, values: np.ndarray) -> np.ndarray:
        """Lookup-table index of each value; -1 for NaN."""
        v = np.asarray(values, dtype=np.float64)
        span = (self.vmax - self.vmin) or 1.0
        f = np.clip((v - self.vmin) / span, 0.0, 1.0)
        idx = (np.where(np.isfinite(f), f, 0.0) * (_LUT_SIZE - 1)).astype(np.intp)
        return np.where(np.isfinite(v), idx, -1)

    def rgba(self, values: np.ndarray) -> np.ndarray:
        """RGBA bytes (..., 4) for an array of values; NaN becomes transparent."""
        v = np.asarray(values, dtype=np.float64)
        span = (self.vmax - self.vmin) or 1.0
        f = np.clip((v - self.vmin) / span, 0.0, 1.0)
        f = np.where(np.isfinite(f), f, 0.0)
        idx = (f * (_LUT_SIZE - 1)).astype(np.intp)
        out = self.lut[idx].copy()
        out[..., 3] = np.where(np.isfinite(v), 255, 0)
        return out


def state_colour(state: object) -> QColor:
    """Colour of an ASHRAE/protection state string from the engine (unknown states are grey)."""
    if not isinstance(state, str):
        return UNKNOWN_COLOUR
    s = state.lower()
    if s in STATE_COLOURS:
        return STATE_COLOURS[s]
    for key, colour in STATE_COLOURS.items():
        if key in s:
            return colour
    return UNKNOWN_COLOUR


def note_label(object_name: str, box_css: str, parent: Optional[QWidget] = None) -> QLabel:
    """A hidden, word-wrapped label in the note colours; ``box_css`` sets its padding and border,
    ``{edge}`` in it standing for the note's edge colour."""
    label = QLabel(parent)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setStyleSheet(f"QLabel#{object_name} {{ background: {NOTE_BACKGROUND}; color: {NOTE_TEXT}; "
                        f"{box_css.format(edge=NOTE_EDGE)} }}")
    label.hide()
    return label
