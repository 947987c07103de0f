"""A hall whose heat has nowhere to go: no steady solve, the heat-up run instead.

:func:`dctwin.twin.model.heat.hall_stranded_heat` names such a hall up front. It has no steady
state, so the engine does not look for one (:class:`NoCoolingPath`, in words, at once: never a
solve that runs until a budget stops it). Its transient starts from the hall at its supply
temperature with the racks at their design airflows on a potential flow: the racks' airflows
carried into the room by one projection from rest
(:func:`~dctwin.twin.physics.flow_adjust.adjust_flow`), which :func:`follow` repeats whenever
they change (a march would look for a settled recirculation that a room with no return never
has, for a very long simulated time). The flow is an estimate; the heat is not: each rack gives
the air its heat, the air keeps it, and the room warms at the rate the diagnosis says.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from dctwin.twin.errors import InputError
from dctwin.twin.model.heat import StrandedHeat
from dctwin.twin.physics import airflow
from dctwin.twin.physics.airflow import Flow, FlowBC
from dctwin.twin.physics.flow_adjust import adjust_flow
from dctwin.twin.physics.it import rack_steady
from dctwin.twin.sim.hall import HallState, HallSystem, exhaust_c
from dctwin.twin.sim.steady import units_steady


class NoCoolingPath(InputError):
    """The hall's heat has no way to a cooling unit: it has no steady state (run a transient)."""

    def __init__(self, stranded: StrandedHeat):
        self.stranded = stranded
        super().__init__(f"{stranded.message()}. There is no steady state: run the simulation (dctwin simulate, "
                         f"or Run in the editor) to see the heat-up")


def rest_flow(hs: HallSystem) -> Flow:
    """The hall's air at rest (no airflow anywhere): the base every potential flow is projected from."""
    return airflow.solve_flow(hs.air, FlowBC(np.zeros(hs.ra.n), np.zeros(hs.ua.n)))


def follow(hs: HallSystem, st: HallState, rack_q: np.ndarray, unit_q: np.ndarray, base: Flow) -> None:
    """The potential flow of these airflows (one projection from ``base``, the air at rest) in ``st``."""
    st.flow = adjust_flow(hs.air, FlowBC(rack_q.copy(), unit_q.copy()), base)
    st.flow_rack_q = rack_q.copy()
    st.flow_unit_q = unit_q.copy()


def start(hs: HallSystem, st: HallState, u: np.ndarray, powered: np.ndarray, base: Flow,
          stranded: StrandedHeat, running: Optional[np.ndarray] = None) -> None:
    """Put the start of the heat-up in ``st``: the hall at its supply temperature, the racks at their
    state there, their airflows on a potential flow; the diagnosis among the state's warnings."""
    rs = rack_steady(hs.ra, u, st.rack_inlet_c, powered)
    us = units_steady(hs, st, st.unit_return_c, np.zeros(hs.ua.n, np.int8) if running is None else running,
                      st.rack_inlet_c, None)
    follow(hs, st, rs.airflow_m3s, us.airflow_m3s, base)
    st.marched = []  # never carried over from: every airflow change projects from rest again
    st.rack_state, st.unit_state = rs.state, us.state
    st.set_last(rs, us)
    heat, st.door_duty = hs.air_heat(rs, rs.exhaust_c, np.zeros(hs.ua.n, np.int8), st.unit_setpoint_c)
    st.rack_exhaust_c = exhaust_c(st.rack_inlet_c, heat, st.flow.rack_q)
    st.air_carry_j = np.zeros(hs.ra.n)
    st.reset_air_history()
    text = stranded.message()
    if text not in st.warnings:
        st.warnings.insert(0, text)
    for w in st.flow.airflow_warnings:
        if w not in st.warnings:
            st.warnings.append(w)
    st.energy_error = 0.0
    st.air_energy_error = 0.0
