"""No NaN, no infinity and no temperature below absolute zero leaves the engine.

Validation bounds every number of a layout by physics, so a valid layout should never make one;
this is the net under it. :func:`check_results` looks at what the engine reports after a steady
solve and after every step (what each power consumer draws, the racks' and units' powers,
airflows and temperatures, the air, the power nodes, the chilled water) and raises
:class:`~dctwin.twin.errors.ResultError` naming the first element that holds one, and what it
holds, where a report would otherwise print NaN, null or -400 C. Consumers come first: a
chiller that draws an infinite power is the cause of the NaN loads of the nodes that feed it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

import numpy as np

from dctwin.twin.errors import ResultError

if TYPE_CHECKING:
    from dctwin.twin.sim.engine import Simulation

#: the lowest temperature there is (°C)
ABSOLUTE_ZERO_C = -273.15


def _first_bad(values: np.ndarray, temperature: bool) -> Optional[int]:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(v)
    if temperature:
        bad |= v < ABSOLUTE_ZERO_C
    hits = np.flatnonzero(bad)
    return int(hits[0]) if hits.size else None


def _check(where: str, ids: Iterable[str], what: str, values: np.ndarray, unit: str, t_s: float,
           temperature: bool = False) -> None:
    k = _first_bad(values, temperature)
    if k is not None:
        v = float(np.asarray(values, dtype=np.float64).reshape(-1)[k])
        name = list(ids)[k] if ids is not None else ""
        raise ResultError(f"{where}{name}: {what} would be {v:g}{unit} at t = {t_s:g} s, which is no physical "
                          f"value: an input of this layout lies outside what the model can carry (check that "
                          f"element's numbers); nothing is reported rather than a wrong figure")


def check_results(sim: "Simulation") -> None:
    """ResultError naming the first non-finite value (or temperature below absolute zero) the engine would
    report now; nothing when every value is physical."""
    hs, st, fac = sim.system, sim.state, sim.facility
    t = float(st.t_s)
    if fac.power is not None:
        k = _first_bad(fac.load_w, False)
        if k is not None:
            cid = fac.power.plant.consumer_ids[k]
            _check(f"{_consumer_kinds(sim).get(cid, 'consumer')} ", [cid], "the power it draws",
                   fac.load_w[k:k + 1], " W", t)
    rs, us = st.last_rack, st.last_unit
    if rs is not None:
        _check("rack ", hs.rack_ids, "its power", rs.power_w, " W", t)
        _check("rack ", hs.rack_ids, "its airflow", rs.airflow_m3s, " m3/s", t)
    if us is not None:
        _check("cooling unit ", hs.unit_ids, "the heat it removes", us.duty_w, " W", t)
        _check("cooling unit ", hs.unit_ids, "its airflow", us.airflow_m3s, " m3/s", t)
        _check("cooling unit ", hs.unit_ids, "its supply air", us.supply_c, " C", t, temperature=True)
    _check("rack ", hs.rack_ids, "its inlet air", st.rack_inlet_c, " C", t, temperature=True)
    _check("rack ", hs.rack_ids, "its exhaust air", st.rack_exhaust_c, " C", t, temperature=True)
    _check("cooling unit ", hs.unit_ids, "its return air", st.unit_return_c, " C", t, temperature=True)
    lo, hi = float(np.min(st.T, initial=0.0)), float(np.max(st.T, initial=0.0))
    for v in (lo, hi):  # min and max of the whole field: one pass each, a NaN anywhere shows in both
        _check("", [f"hall {hs.hall.id}"], "the air temperature", np.array([v]), " C", t, temperature=True)
    if fac.power is not None:
        ps = fac.power.state
        _check("power node ", fac.power.plant.node_ids, "its load", ps.out_w, " W", t)
    if fac.cplant is not None:
        _check("", ["the chilled-water plant"], "the chilled-water supply", np.array([fac.cplant.chw_supply_c]),
               " C", t, temperature=True)


def _consumer_kinds(sim: "Simulation") -> dict[str, str]:
    """What each consumer of the power graph is, for a message."""
    site = sim.site
    out = {r.id: "rack" for h in site.halls for r in h.racks}
    out.update({u.id: "cooling unit" for h in site.halls for u in h.cooling_units})
    out.update({c.id: "chiller" for c in site.chillers})
    out.update({p.id: "pump" for p in site.pumps})
    return out
