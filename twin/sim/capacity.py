"""Capacity reading of an engine summary: will a rack fit here by power and by cooling?

Plain functions over the layout and the last summary: the floor plan calls them
while a rack is dragged to tint the tiles, and to label rows and PDUs with their
headroom; the GUI's runner builds the intake field from the air solution.

Power: a rack of ``P`` W on feeds (A, B) shares its load, so in normal operation
every node upstream of k of its n feeds takes ``P * k / n`` more; after losing
one feed the survivor's path carries all of ``P``. A node passes if its
``headroom_w`` covers the normal share and its ``headroom_n1_w`` (headroom after
losing its worst partner, from the engine) covers ``P``.

Cooling: the predicted inlet is the air temperature just in front of the
intake face, averaged over the intake height, from the last solved field. The
spot passes when it is at or below the ASHRAE recommended maximum (27 °C).
"""

from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

import numpy as np

from dctwin.twin.model.layout import Hall, Site
from dctwin.twin.physics.constants import ASHRAE_RECOMMENDED_MAX_C

#: predicted inlet at or below this passes the cooling check (°C, ASHRAE recommended maximum)
INLET_LIMIT_C = ASHRAE_RECOMMENDED_MAX_C
#: heights whose air the intake breathes (m): mean over cell layers with centres below this
INTAKE_TOP_M = 2.0


def upstream(site: Site, node_id: str) -> set[str]:
    """``node_id`` and every power node it draws from (through ``inputs``)."""
    by_id = {n.id: n for n in site.power_nodes}
    out: set[str] = set()
    todo = [node_id]
    while todo:
        n = todo.pop()
        if n in out or n not in by_id:
            continue
        out.add(n)
        todo.extend(by_id[n].inputs)
    return out


def power_problem(site: Site, nodes: dict, feeds: Sequence[str], add_w: float) -> str:
    """Why ``add_w`` more on ``feeds`` would overload a node now or after losing one feed ("" if not).

    ``nodes`` is the summary's ``power_nodes`` ({id: Headroom}).
    """
    feeds = [f for f in feeds if f]
    if not feeds or not nodes or add_w <= 0:
        return ""
    paths = [upstream(site, f) for f in feeds]
    nf = len(feeds)
    for nid in sorted(set().union(*paths)):
        d = nodes.get(nid)
        if d is None:
            continue
        k = sum(nid in p for p in paths)
        share = add_w * k / nf
        head = d.headroom_w
        if head is not None and head < share:
            return (f"power: {nid} has {head / 1e3:.1f} kW headroom, the rack needs {share / 1e3:.1f} kW there")
        head1 = d.headroom_n1_w
        if nf > 1 and head1 is not None and head1 < add_w:
            return (f"power: after losing one feed {nid} would have {head1 / 1e3:.1f} kW headroom, "
                    f"the rack needs {add_w / 1e3:.1f} kW")
    return ""


def nearest_feeds(hall: Hall, x_m: float, y_m: float, ignore: Iterable[str] = ()) -> tuple[str, ...]:
    """Feeds of the rack (with feeds) nearest to (x_m, y_m): a new rack joins that row's power."""
    return FeedIndex(hall, ignore).nearest(x_m, y_m)


class FeedIndex:
    """The racks of a hall that have feeds, as arrays, for many nearest-feed queries (a drag's tiles)."""

    def __init__(self, hall: Hall, ignore: Iterable[str] = ()):
        skip = set(ignore)
        racks = [r for r in hall.racks if r.feeds and r.id not in skip]
        self.feeds = [r.feeds for r in racks]
        fp = np.array([r.footprint() for r in racks], float).reshape(-1, 4)
        self.x0, self.y0, self.x1, self.y1 = fp.T

    def nearest(self, x_m: float, y_m: float) -> tuple[str, ...]:
        if not self.feeds:
            return ()
        dx = np.maximum(np.maximum(self.x0 - x_m, 0.0), x_m - self.x1)
        dy = np.maximum(np.maximum(self.y0 - y_m, 0.0), y_m - self.y1)
        return tuple(self.feeds[int(np.argmin(dx * dx + dy * dy))])


def intake_field(slices: Sequence[tuple[float, np.ndarray]]) -> Optional[np.ndarray]:
    """Mean of the given (z_m, temperature[nx, ny]) layers, NaN where every layer is solid."""
    if not slices:
        return None
    stack = np.stack([np.asarray(t, float) for _, t in slices])
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(stack)
        n = ok.sum(axis=0)
        total = np.where(ok, stack, 0.0).sum(axis=0)
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def predicted_inlet_c(field: np.ndarray, extent: tuple[float, float, float, float],
                      footprint: tuple[float, float, float, float], facing: str) -> Optional[float]:
    """Mean air temperature (°C) in the cells just in front of the intake face of ``footprint``.

    ``field[ix, iy]`` covers ``extent`` = (x0, y0, x1, y1) m. None when no open cell is found there.
    """
    fx0, fy0, fx1, fy1 = extent
    x0, y0, x1, y1 = footprint
    if facing in ("E", "W"):  # the same question with x and y swapped: east becomes north
        return predicted_inlet_c(field.T, (fy0, fx0, fy1, fx1), (y0, x0, y1, x1), "N" if facing == "E" else "S")
    nx, ny = field.shape
    dx, dy = (fx1 - fx0) / nx, (fy1 - fy0) / ny
    y = y1 + 0.5 * dy if facing == "N" else y0 - 0.5 * dy
    iy = int(math.floor((y - fy0) / dy))
    i0 = int(math.floor((x0 - fx0) / dx + 1e-9))
    i1 = int(math.ceil((x1 - fx0) / dx - 1e-9))
    if not (0 <= iy < ny):
        return None
    cells = field[max(i0, 0):min(i1, nx), iy]
    cells = cells[np.isfinite(cells)]
    return float(cells.mean()) if cells.size else None


def cooling_problem(field: Optional[np.ndarray], extent, footprint, facing: str) -> str:
    """Why the spot is too warm for a rack's intake ("" if it is not, or nothing is known)."""
    if field is None:
        return ""
    x0, y0, x1, y1 = footprint
    ex0, ey0, ex1, ey1 = extent
    front = {"N": y1 >= ey1 - 1e-9, "S": y0 <= ey0 + 1e-9, "E": x1 >= ex1 - 1e-9, "W": x0 <= ex0 + 1e-9}
    if front.get(facing, False):
        return "cooling: the intake is against the wall, so the rack would breathe the warm air over its top"
    t = predicted_inlet_c(field, extent, footprint, facing)
    if t is None or t <= INLET_LIMIT_C:
        return ""
    return f"cooling: predicted inlet {t:.1f} °C, above the recommended {INLET_LIMIT_C:g} °C"


def row_feeds(hall: Hall) -> dict[str, list[tuple[str, ...]]]:
    """Per row of ``hall``: the distinct feeds (A, B) of its racks, sorted (rows without feeds: [])."""
    rows: dict[str, set[tuple[str, ...]]] = {}
    for r in hall.racks:
        if r.row:
            feeds = rows.setdefault(r.row, set())
            if r.feeds:
                feeds.add(r.feeds)
    return {name: sorted(feeds) for name, feeds in rows.items()}


def row_headroom_w(site: Site, rows: dict[str, list[tuple[str, ...]]], nodes: dict) -> dict[str, float]:
    """Per row: the IT power it could still add with its feeds redundant (W): the least N-1 headroom
    among the nodes upstream of its racks' feeds (normal headroom where a rack has one feed).

    ``rows`` is :func:`row_feeds` of the hall; ``nodes`` the summary's ``power_nodes``. Rows without a
    known headroom are left out.
    """
    out: dict[str, float] = {}
    if not nodes:
        return out
    paths: dict[str, set[str]] = {}
    for name, groups in rows.items():
        best = math.inf
        for feeds in groups:
            for f in feeds:
                for nid in paths.setdefault(f, upstream(site, f)):
                    d = nodes.get(nid)
                    h = None if d is None else d.headroom_n1_w if len(feeds) > 1 else d.headroom_w
                    if h is not None:
                        best = min(best, float(h))
        if math.isfinite(best):
            out[name] = best
    return out


def hall_pdus(site: Site, hall: Hall) -> list[str]:
    """Ids of the power nodes that feed racks of ``hall`` directly, in site order."""
    fed = {f for r in hall.racks for f in r.feeds}
    return [n.id for n in site.power_nodes if n.id in fed]

