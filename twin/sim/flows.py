"""The flow follows the racks' and units' airflows: hold, carry over, or re-march.

The frozen flow holds while no airflow moved beyond :data:`FLOW_TOLERANCE` from the airflows it
was made for. Past it, small changes carry the nearest of the last :data:`MARCH_CACHE` marched
flows over to the new airflows (scaled, one projection:
:func:`~dctwin.twin.physics.flow_adjust.adjust_flow`); a unit or rack starting or stopping, or
any airflow moving by more than :data:`FLOW_REMARCH` from each of them, re-marches the flow
(warm-started). A load that swings between two states thus marches once per state.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from dctwin.twin.errors import BudgetError
from dctwin.twin.physics import airflow
from dctwin.twin.physics.flow_adjust import adjust_flow
from dctwin.twin.sim.budget import MAX_MARCH_WORK
from dctwin.twin.sim.hall import HallState, HallSystem

#: relative airflow change (of any rack or unit, against the flow's own) that re-marches the flow
FLOW_TOLERANCE = 0.05
#: relative airflow change (of any rack or unit, against the last full march) past which a
#: transient re-marches the flow instead of carrying the marched one over (flow_adjust)
FLOW_REMARCH = 0.25
#: marched flows kept to carry over from (the nearest by airflows is used)
MARCH_CACHE = 3
#: airflow below which a change counts in absolute terms (m3/s)
FLOW_FLOOR_M3S = 0.02




def needs_flow(st: HallState, rack_q: np.ndarray, unit_q: np.ndarray) -> bool:
    """No flow yet, or an airflow moved beyond FLOW_TOLERANCE from the flow's."""
    if st.flow is None:
        return True
    return moved(st.flow_rack_q, rack_q) or moved(st.flow_unit_q, unit_q)


def march(hs: HallSystem, st: HallState, rack_q: np.ndarray, unit_q: np.ndarray,
          retarget: Optional[Callable[[airflow.Flow], Optional[airflow.FlowBC]]] = None, anneal: float = 1.0,
          warm_window_tau: Optional[float] = None, tol: Optional[float] = None) -> None:
    """March the flow for these airflows (warm-started from the present or the previous layout's
    flow); airflows it cannot honour join the state's warnings. ``retarget``: airflows that follow the
    flow during the march (:func:`~dctwin.twin.physics.airflow.solve_flow`); the flow is then made for
    the last airflows it gave. ``anneal``: the march's viscous start (``airflow.solve_flow``; 1: none).
    ``warm_window_tau``: the averaging window (residence times, ``airflow.solve_flow``'s ``window_tau``)
    of a warm-started march (default the march's own; a march from rest keeps its own). ``tol``: a
    provisional march's looser tolerance (``airflow.solve_flow``'s; default its own), which the caller
    marches on from: it is not kept among the state's marches to carry over from."""
    model = hs.air_model
    init = None if model.cold_start else (st.flow if st.flow is not None else st.warm_flow)
    window = {} if init is None or warm_window_tau is None else {"window_tau": warm_window_tau}
    if tol is not None:
        window["tol"] = tol
    final = [rack_q, unit_q]

    def follow_fans(flow: airflow.Flow) -> Optional[airflow.FlowBC]:
        bc = retarget(flow)
        if bc is not None:
            final[:] = [bc.rack_airflow_m3s, bc.unit_airflow_m3s]
        return bc

    try:
        st.flow = airflow.solve_flow(hs.air, airflow.FlowBC(rack_q.copy(), unit_q.copy()), init=init,
                                     scheme=model.scheme, turbulence=model.turbulence, max_work=MAX_MARCH_WORK,
                                     anneal=anneal, **window,
                                     retarget=None if retarget is None else follow_fans)
    except airflow.MarchTooLong as exc:
        ap = hs.air
        raise BudgetError(f"{exc}: the step is set by the cells ({min(ap.dx, ap.dy, ap.dz):.3g} m) and the fastest "
                          f"inflow ({_fastest(ap, exc.port_face)}, {exc.speed_m_s:.3g} m/s), the march's length "
                          f"by the air's residence time in the room ({exc.tau_s:.3g} s); use a coarser grid, or "
                          f"check that element's airflow and size") from None
    _took_march(st, *final, keep=tol is None)


def _took_march(st: HallState, rack_q: np.ndarray, unit_q: np.ndarray, keep: bool = True) -> None:
    """The state's new flow was marched for these airflows: the elements whose airflow it could not honour
    join the state's warnings, and (``keep``) it joins the marches later airflow changes carry over from."""
    for text in st.flow.airflow_warnings:
        if text not in st.warnings:
            st.warnings.append(text)
    st.flow_rack_q = rack_q.copy()
    st.flow_unit_q = unit_q.copy()
    if keep:
        kept = [m for m in st.marched if m[0] is not st.flow][-(MARCH_CACHE - 1):]
        st.marched = kept + [(st.flow, rack_q.copy(), unit_q.copy())]


_PORT_WHAT = {"rack_in": ("rack_ids", "rack {}'s intake"), "rack_out": ("rack_ids", "rack {}'s exhaust"),
              "unit_in": ("unit_ids", "cooling unit {}'s return"), "unit_out": ("unit_ids", "cooling unit {}'s supply"),
              "tile": ("tile_ids", "perforated tile {}"), "grille": ("grille_ids", "return grille {}")}


def _fastest(ap, port_face: int) -> str:
    """The element whose port face ``port_face`` (index into :func:`~dctwin.twin.physics.airflow.port_faces`) is."""
    pf = airflow.port_faces(ap)
    for group, sl in pf.group.items():
        if sl.start <= port_face < sl.stop:
            if group not in _PORT_WHAT:
                return "the raised floor's leakage"
            ids, text = _PORT_WHAT[group]
            return text.format(getattr(ap, ids)[int(getattr(ap, group).port_of_face()[port_face - sl.start])])
    return "no element"


def follow(hs: HallSystem, st: HallState, rack_q: np.ndarray, unit_q: np.ndarray,
           marched: Optional[list] = None, within: float = FLOW_REMARCH,
           retarget: Optional[Callable[[airflow.Flow], Optional[airflow.FlowBC]]] = None, anneal: float = 1.0,
           warm_window_tau: Optional[float] = None) -> bool:
    """Airflows moved: carry the nearest of the marched flows ``marched`` (``(flow, rack_q, unit_q)``;
    default the state's last marches) over to them when the change from it is small (no element
    started or stopped, none moved by ``within``, relative), else re-march (``retarget``, ``anneal``,
    ``warm_window_tau``: see :func:`march`). Returns True when it re-marched."""
    base, best = None, math.inf
    for flow, rq, uq in (st.marched if marched is None else marched):
        if _small_change(rq, rack_q, within) and _small_change(uq, unit_q, within):
            d = max(_largest_change(rq, rack_q), _largest_change(uq, unit_q))
            if d < best:
                base, best = flow, d
    if base is None:
        march(hs, st, rack_q, unit_q, retarget, anneal, warm_window_tau)
        return True
    carry(hs, st, rack_q, unit_q, base)
    return False


def march_local(hs: HallSystem, st: HallState, rack_q: np.ndarray, unit_q: np.ndarray, base: airflow.Flow,
                box: tuple[int, int, int, int], tol: Optional[float] = None, time_s: Optional[float] = None) -> None:
    """After an edit: ``base`` (the previous layout's flow) carried over to these airflows and the columns of
    ``box`` marched in it (:func:`~dctwin.twin.sim.placement_local.march_box`, the carried flow held on the
    box's sides and port faces; ``tol``, ``time_s``: its stop rule and longest march, default march_box's) as
    the state's flow, kept among its marches to carry over from."""
    from dctwin.twin.sim import placement_local

    carried = adjust_flow(hs.air, airflow.FlowBC(rack_q.copy(), unit_q.copy()), base, tol=1e-10)
    st.flow, _ = placement_local.march_box(hs.air, carried, box, time_s=time_s, scheme=hs.air_model.scheme, tol=tol)
    _took_march(st, rack_q, unit_q)


def carry(hs: HallSystem, st: HallState, rack_q: np.ndarray, unit_q: np.ndarray, base: airflow.Flow,
          tol: float = 1e-10) -> None:
    """Carry the flow ``base`` over to these airflows (scaled, one projection to ``tol``, relative:
    :func:`~dctwin.twin.physics.flow_adjust.adjust_flow`) as the state's flow."""
    st.flow = adjust_flow(hs.air, airflow.FlowBC(rack_q.copy(), unit_q.copy()), base, tol=tol)
    st.flow_rack_q = rack_q.copy()
    st.flow_unit_q = unit_q.copy()


def _largest_change(old: np.ndarray, new: np.ndarray) -> float:
    """Largest relative airflow change (against max(|old|, FLOW_FLOOR_M3S))."""
    if old.size == 0:
        return 0.0
    return float((np.abs(new - old) / np.maximum(np.abs(old), FLOW_FLOOR_M3S)).max())


def _small_change(old: np.ndarray, new: np.ndarray, within: float = FLOW_REMARCH) -> bool:
    """No element started or stopped and none moved by more than ``within`` (relative)."""
    if old.shape != new.shape:
        return False
    if ((old > FLOW_FLOOR_M3S) != (new > FLOW_FLOOR_M3S)).any():
        return False
    return not _beyond(old, new, within)


def moved(old: np.ndarray, new: np.ndarray) -> bool:
    """Some airflow moved beyond FLOW_TOLERANCE from ``old`` (or the elements differ)."""
    return old.shape != new.shape or _beyond(old, new, FLOW_TOLERANCE)


def _beyond(old: np.ndarray, new: np.ndarray, tolerance: float) -> bool:
    """Some airflow moved by more than ``tolerance`` (relative, with the FLOW_FLOOR_M3S floor)."""
    return bool((np.abs(new - old) > tolerance * np.maximum(np.abs(old), FLOW_FLOOR_M3S)).any())
