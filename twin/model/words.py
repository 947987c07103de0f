"""Numbers in words, once for every view: times, temperatures, signed headroom, edits.

Every time of a run is written ``hh:mm:ss`` (:func:`hms`), every temperature with ``°C``
(:data:`DEG_C`), a value that crossed a limit with as many decimals as it takes to show that it
crossed (:func:`crossed`), a headroom with its sign and never ``-0`` (:func:`signed`), and an edit
in words ("Set IT power of R-A05 to 99 kW", :func:`set_property_text`). The status bar, the alarm
list, the timeline, the cause chain, the review report and the engine's alarm messages all use
these, so one run reads the same everywhere.
"""

from __future__ import annotations

import math
from typing import Any

#: the unit of every temperature shown to a person
DEG_C = "°C"


def hms(t_s: float) -> str:
    """A time of a run as ``hh:mm:ss`` (seconds rounded down; hours grow past 99; never negative)."""
    s = int(math.floor(max(float(t_s), 0.0) + 1e-6))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def celsius(value: float, digits: int = 1) -> str:
    """``23.4 °C``."""
    return f"{value:.{digits}f} {DEG_C}"


def crossed(value: float, limit: float, above: bool = True, digits: int = 1, most: int = 4) -> str:
    """``value`` with the fewest decimals (at least ``digits``, at most ``most``) that show it lies
    beyond ``limit`` (above it, or below it when ``above`` is False): 27.004 over 27 reads
    ``27.004``, never ``27.00``; 33.12 reads ``33.1``."""
    for d in range(digits, most + 1):
        shown = round(value, d)
        if (shown > limit) if above else (shown < limit):
            return f"{value:.{d}f}"
    return f"{value:.{most}f}"


def signed(value: float, digits: int = 0) -> str:
    """A headroom with its sign as shown: ``+75``, ``-12``, and ``0`` (never ``+0`` or ``-0``)."""
    text = f"{value:+.{digits}f}"
    if float(text) == 0.0:
        return f"{0.0:.{digits}f}"
    return text


def is_negative(value: float, digits: int = 0) -> bool:
    """Whether :func:`signed` shows ``value`` as negative (what is shown red)."""
    return float(f"{value:.{digits}f}") < 0.0


#: property -> (what a person calls it, its unit) for the texts of edits
PROPERTY_WORDS: dict[str, tuple[str, str]] = {
    "it_kw": ("IT power", "kW"), "airflow_m3s": ("airflow", "m³/s"), "liquid_fraction": ("liquid fraction", ""),
    "facing": ("front facing", ""), "ashrae_class": ("ASHRAE class", ""), "feeds": ("feeds", ""),
    "kind": ("kind", ""), "capacity_kw": ("capacity", "kW"), "supply_setpoint_c": ("supply setpoint", DEG_C),
    "open_fraction": ("open fraction", ""), "width_m": ("width", "m"), "depth_m": ("depth", "m"),
    "height_m": ("height", "m"), "tile_m": ("tile size", "m"), "supply_c": ("supply air", DEG_C),
    "plenum": ("plenum", ""), "ceiling_return": ("ceiling return", ""), "x_m": ("x", "m"), "y_m": ("y", "m"),
    "row": ("row", ""), "workload": ("workload", ""), "cdu": ("CDU", ""), "battery_kwh": ("battery", "kWh"),
}


def value_text(field: str, value: Any) -> str:
    """A property value as a person reads it: ``99 kW``, ``PDU-A and PDU-B``, ``the default``."""
    if value is None or value == ():
        return "none" if field == "feeds" else "the default"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (tuple, list)):
        items = [str(v) for v in value]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    unit = PROPERTY_WORDS.get(field, ("", ""))[1]
    text = f"{value:g}" if isinstance(value, (int, float)) else str(value)
    return f"{text} {unit}" if unit else text


def set_property_text(owner: str, field: str, value: Any) -> str:
    """The undo text of setting ``field`` of ``owner`` (an element id, ``"3 elements"``, a hall):
    ``Set IT power of R-A05 to 99 kW``; ``Rename R-A05 to R-B01``."""
    if field == "id":
        return f"Rename {owner} to {value}"
    name = PROPERTY_WORDS.get(field, (field.replace("_", " "), ""))[0]
    return f"Set {name} of {owner} to {value_text(field, value)}"
