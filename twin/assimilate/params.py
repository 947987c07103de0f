"""The uncertain parameters of a hall that estimation and calibration fit, and how each changes a layout.

==================  ====================  ==============================================  ============
group               per                   meaning (value 1 = the layout as drawn)         bounds
==================  ====================  ==============================================  ============
``leakage``         hall                  plenum leakage fraction (absolute, 0..0.5)      0 .. 0.5
``unit_airflow``    air cooling unit      factor on the unit's airflow                    0.3 .. 1.5
``tile_flow``       perforated tile       factor on the tile's share of the plenum air    from open
                                          (realised as the open fraction that gives it)   5 .. 95 %
``rack_power``      rack                  factor on the rack's IT power (its airflow per  0.3 .. 2
                                          watt kept, so its airflow follows)
``rack_airflow``    rack                  factor on the rack's airflow per watt           0.5 .. 2
==================  ====================  ==============================================  ============

Each parameter has a prior (the layout's value, with a standard deviation: the regularisation of
calibration and the prior of the estimator) and a finite-difference step. ``kind`` says how the
model responds: ``"flow"`` parameters change airflows (a new flow is marched for them), ``"heat"``
parameters change only heat sources on the present flow (their response is linear there).

:func:`apply` returns a copy of the site with values set; it is how the calibrated layout is made
and how the synthetic site's hidden truth is built (:mod:`dctwin.twin.assimilate.synth`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from dctwin.twin.errors import InputError
from dctwin.twin.model.layout import COOLING_KINDS, Hall, Site
from dctwin.twin.model.validate import MIN_TILE_OPEN_FRACTION
from dctwin.twin.physics.airflow import idelchik_k

GROUPS = ("leakage", "unit_airflow", "tile_flow", "rack_power", "rack_airflow")
#: what ``--params`` means when not given
DEFAULT_GROUPS = ("leakage", "unit_airflow", "rack_power")
#: air units whose airflow a factor may scale
AIR_UNIT_KINDS = tuple(k for k in COOLING_KINDS if k not in ("rdhx", "cdu"))
MAX_TILE_OPEN = 0.95

#: group -> (lower, upper, prior sigma, finite-difference step, kind)
SPECS: dict[str, tuple[float, float, float, float, str]] = {
    "leakage": (0.0, 0.5, 0.05, 0.03, "flow"),
    "unit_airflow": (0.3, 1.5, 0.25, 0.1, "flow"),
    "tile_flow": (0.0, 0.0, 0.4, 0.25, "flow"),  # bounds from the open-fraction limits
    "rack_power": (0.3, 2.0, 0.2, 0.1, "heat"),
    "rack_airflow": (0.5, 2.0, 0.2, 0.1, "flow"),
}


@dataclass(frozen=True)
class Param:
    """One uncertain parameter: ``group:target`` with its nominal value, bounds, prior and step."""

    group: str
    target: str
    nominal: float
    lower: float
    upper: float
    sigma: float
    step: float
    kind: str
    #: the racks a row parameter scales (empty: the target itself)
    members: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.group}:{self.target}"


def tile_weight(open_fraction: np.ndarray | float) -> np.ndarray:
    """A tile's share of the plenum air per unit area: ``1 / sqrt(K_t(f))`` (Idelchik)."""
    return 1.0 / np.sqrt(idelchik_k(open_fraction))


def open_fraction_for(factor: float, f0: float) -> float:
    """The open fraction whose tile weight is ``factor`` times that of ``f0`` (bisection; the weight
    grows with the open fraction)."""
    want = float(factor) * float(tile_weight(f0))
    lo, hi = MIN_TILE_OPEN_FRACTION, MAX_TILE_OPEN
    if want <= tile_weight(lo):
        return lo
    if want >= tile_weight(hi):
        return hi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if tile_weight(mid) < want:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _hall(site: Site, hall_id: Optional[str]) -> Hall:
    if hall_id is None:
        return site.halls[0]
    try:
        return site.get_hall(hall_id)
    except KeyError:
        raise InputError(f"no hall {hall_id!r}") from None


#: above this many racks, rack parameters are one per row unless asked otherwise
PER_ROW_ABOVE = 40
#: above this many air units, the in-row coolers' airflow factors are one per row unless asked otherwise
PER_UNIT_ABOVE = 12


def inrow_rows(hall: Hall, units: Sequence) -> dict[str, str]:
    """In-row coolers -> the row of the rack nearest to each (the row they stand in; rows with a name)."""
    racks = [r for r in hall.racks if r.row]
    if not racks:
        return {}
    centre = np.array([[0.5 * (x0 + x1), 0.5 * (y0 + y1)] for x0, y0, x1, y1 in (r.footprint() for r in racks)])
    out = {}
    for u in units:
        if u.kind != "inrow":
            continue
        x0, y0, x1, y1 = u.footprint()
        d = np.hypot(centre[:, 0] - 0.5 * (x0 + x1), centre[:, 1] - 0.5 * (y0 + y1))
        out[u.id] = str(racks[int(np.argmin(d))].row)
    return out


def param_space(site: Site, groups: Iterable[str] = DEFAULT_GROUPS, hall_id: Optional[str] = None,
                only: Optional[dict[str, Sequence[str]]] = None, exclude: Iterable[str] = (),
                racks: str = "auto", units: str = "auto") -> list[Param]:
    """The parameters of ``groups`` for one hall (``only``: group -> the targets to keep; ``exclude``:
    targets left out, e.g. racks whose power is measured). ``racks``: rack parameters per ``"rack"``,
    per ``"row"`` (target ``row:A``: every rack of row A but the excluded ones), or ``"auto"``
    (per rack up to :data:`PER_ROW_ABOVE` racks). ``units``: unit airflow factors per ``"unit"``, or
    ``"auto"``: per unit, except in a hall of more than :data:`PER_UNIT_ABOVE` air units, where the
    in-row coolers get one per row (target ``row:A``: the coolers beside row A's racks; naming units
    in ``only`` keeps them per unit)."""
    hall = _hall(site, hall_id)
    skip = set(exclude)
    out: list[Param] = []
    for g in groups:
        if g not in SPECS:
            raise InputError(f"unknown parameter group {g!r} (groups: {', '.join(GROUPS)})")
        lo, hi, sigma, step, kind = SPECS[g]
        keep = set(only[g]) if only and g in only else None
        if g == "leakage":
            targets = [(hall.id, float(hall.leakage_fraction), lo, hi)] if hall.plenum == "raised_floor" else []
        elif g == "unit_airflow":
            air = [u for u in hall.cooling_units if u.kind in AIR_UNIT_KINDS and u.airflow_m3s > 0]
            by_row = inrow_rows(hall, air) if units == "auto" and len(air) > PER_UNIT_ABOVE else {}
            if keep is not None and not any(k.startswith("row:") for k in keep):
                by_row = {}
            for row in dict.fromkeys(by_row.values()):
                target = f"row:{row}"
                if keep is None or target in keep:
                    out.append(Param(g, target, 1.0, lo, hi, sigma, step, kind,
                                     tuple(u.id for u in air if by_row.get(u.id) == row)))
            targets = [(u.id, 1.0, lo, hi) for u in air if u.id not in by_row]
        elif g == "tile_flow":
            targets = []
            for t in hall.tiles:
                w0 = float(tile_weight(t.open_fraction))
                targets.append((t.id, 1.0, float(tile_weight(MIN_TILE_OPEN_FRACTION)) / w0,
                                float(tile_weight(MAX_TILE_OPEN)) / w0))
        else:
            live = [r for r in hall.racks if r.it_kw > 0 and r.id not in skip]
            per_row = racks == "row" or (racks == "auto" and len(live) > PER_ROW_ABOVE)
            if keep is not None:
                per_row = any(k.startswith("row:") for k in keep)
            if per_row:
                rows = list(dict.fromkeys(r.row or "" for r in live))
                for row in rows:
                    target = f"row:{row}"
                    if keep is None or target in keep:
                        out.append(Param(g, target, 1.0, lo, hi, sigma, step, kind,
                                         tuple(r.id for r in live if (r.row or "") == row)))
                targets = []
            else:
                targets = [(r.id, 1.0, lo, hi) for r in live]
        for target, nominal, lo_t, hi_t in targets:
            if target in skip or (keep is not None and target not in keep):
                continue
            out.append(Param(g, target, nominal, lo_t, hi_t, sigma, step, kind))
    if only:
        for g, targets in only.items():
            have = {p.target for p in out if p.group == g}
            missing = [t for t in targets if t not in have]
            if missing:
                raise InputError(f"--params {g}: no such element in hall {hall.id}: {', '.join(missing)}")
    return out


def parse_params(text: Optional[str]) -> tuple[tuple[str, ...], dict[str, list[str]]]:
    """``"unit_airflow,rack_power:R-A01+R-A02,leakage"`` -> (groups, {group: targets}). Empty: defaults."""
    if not text:
        return DEFAULT_GROUPS, {}
    groups: list[str] = []
    only: dict[str, list[str]] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        g, _, targets = item.partition(":")
        g = g.strip()
        if g not in SPECS:
            raise InputError(f"--params: unknown group {g!r} (groups: {', '.join(GROUPS)}; a group may name "
                             f"its elements: rack_power:R-A01+R-A02)")
        if g not in groups:
            groups.append(g)
        if targets:
            only.setdefault(g, []).extend(t.strip() for t in targets.split("+") if t.strip())
    return tuple(groups), only


def apply(site: Site, params: Sequence[Param], values: Sequence[float], hall_id: Optional[str] = None) -> Site:
    """A copy of ``site`` with the parameters set to ``values`` (see the module docstring)."""
    out = site.copy()
    hall = _hall(out, hall_id)
    hi = out.halls.index(hall)
    by: dict[tuple[str, str], float] = {}
    for p, v in zip(params, values):
        for target in p.members or (p.target,):
            by[(p.group, target)] = float(v)
    changes: dict[str, object] = {}
    if (("leakage", hall.id)) in by:
        changes["leakage_fraction"] = min(max(by[("leakage", hall.id)], 0.0), 0.99)
    units = [dataclasses.replace(u, airflow_m3s=u.airflow_m3s * by[("unit_airflow", u.id)])
             if ("unit_airflow", u.id) in by else u for u in hall.cooling_units]
    tiles = [dataclasses.replace(t, open_fraction=round(open_fraction_for(by[("tile_flow", t.id)], t.open_fraction), 6))
             if ("tile_flow", t.id) in by else t for t in hall.tiles]
    racks = []
    for r in hall.racks:
        s = by.get(("rack_power", r.id), 1.0)
        k = by.get(("rack_airflow", r.id), 1.0)
        if s == 1.0 and k == 1.0:
            racks.append(r)
            continue
        airflow = None if (k == 1.0 and r.airflow_m3s is None) else k * s * r.design_airflow_m3s
        racks.append(dataclasses.replace(r, it_kw=r.it_kw * s, airflow_m3s=airflow))
    out.halls[hi] = dataclasses.replace(hall, cooling_units=units, tiles=tiles, racks=racks, **changes)
    return out


def nominal(params: Sequence[Param]) -> np.ndarray:
    return np.array([p.nominal for p in params], dtype=np.float64)


def bounds(params: Sequence[Param]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([p.lower for p in params], dtype=np.float64),
            np.array([p.upper for p in params], dtype=np.float64))


def sigmas(params: Sequence[Param]) -> np.ndarray:
    return np.array([p.sigma for p in params], dtype=np.float64)
