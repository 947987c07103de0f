"""The twin as a function of its uncertain parameters: steady outputs under given conditions, and
their sensitivities.

:class:`Conditions` are what the site imposes in a window (units stopped, supply setpoints, rack
powers, outdoor temperature). :class:`SteadyModel` evaluates the hall's output vector
(:mod:`~dctwin.twin.assimilate.observe`) at a parameter vector theta: the layout with theta applied
(:func:`~dctwin.twin.assimilate.params.apply`), compiled, the conditions set, the steady state
solved (the flow marched for its airflows, warm-started from the previous evaluation).

:meth:`SteadyModel.jacobian` gives ``J = dy/dtheta`` by one-sided finite differences of full
steady solves, ``J[:, i] = (y(theta + h_i e_i) - y(theta)) / h_i`` (a new flow is marched for each
step, warm-started from the base). A cheaper linear response of the temperature field to a rack's
heat on the frozen flow was tried and refused: a rack's power scale also scales its airflow (its
airflow per watt is kept), which changes how much of its own exhaust it breathes; on the small demo
hall the frozen-flow column put 1.7 K/unit on the rack's own inlet where the model moves 0.6 K.
Carrying the base flow over to a step's airflows (scaled and projected, as a transient follows small
airflow changes: :func:`~dctwin.twin.physics.flow_adjust.adjust_flow`) and settling the temperatures
on it was tried too and refused: it keeps the old momentum pattern, which is what a leakage or unit
airflow step changes. On the small demo hall its columns missed the marched ones by 1.3-5 K/unit RMS
over the inlets (leakage at the first rack: -2.6 against -11.3 K/unit; the marched columns agree
with themselves within 0.5 K/unit at twice the step), for a tenth of the cost.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from dctwin.twin.assimilate.observe import Outputs, model_outputs
from dctwin.twin.assimilate.params import Param, apply
from dctwin.twin.errors import InputError
from dctwin.twin.model.layout import Site
from dctwin.twin.physics.it import power_airflow, throttle_factor
from dctwin.twin.sim.engine import Simulation

#: highest utilization the engine accepts (set_utilization)
U_MAX = 1.5


def utilization_for_power(ra: Any, power_w: np.ndarray, inlet_c: np.ndarray, iters: int = 40) -> np.ndarray:
    """Per rack, the utilization u in [0, 1.5] at which the IT model draws ``power_w`` at ``inlet_c``,
    its throttling there included (bisection on the monotone power curve; NaN where ``power_w`` is NaN;
    clipped at the ends)."""
    p = np.asarray(power_w, float)
    lo = np.zeros(len(p))
    hi = np.full(len(p), U_MAX)
    throttle = throttle_factor(ra, inlet_c, backend="numpy")
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        pm = power_airflow(ra, mid, inlet_c, throttle, backend="numpy")[0]
        below = pm < p
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    u = 0.5 * (lo + hi)
    return np.where(np.isfinite(p), u, np.nan)


@dataclass
class Conditions:
    """What the site imposed in a window (per element, in hall order; NaN / -1: the layout's own)."""

    unit_running: np.ndarray  # int8 per unit: 1 running, 0 stopped, -1 as the model has it
    setpoint_c: np.ndarray  # per unit (NaN: the layout's)
    rack_power_w: np.ndarray  # per rack (NaN: the workload's)
    outdoor_c: float = math.nan
    label: str = ""
    #: per rack, a utilization set directly (NaN: from rack_power_w or the workload)
    utilization: Optional[np.ndarray] = None

    @classmethod
    def free(cls, n_racks: int, n_units: int) -> "Conditions":
        return cls(np.full(n_units, -1, np.int8), np.full(n_units, np.nan), np.full(n_racks, np.nan))

    @classmethod
    def of(cls, sim: Simulation, label: str = "") -> "Conditions":
        """The conditions a simulation runs under now (its stopped units, setpoints and utilizations)."""
        st = sim.state
        return cls(sim.running_units().astype(np.int8), st.unit_setpoint_c.copy(), np.full(sim.ra.n, np.nan),
                   float(sim.cplant.state.outdoor_override_c[0]) if sim.cplant is not None else math.nan,
                   label, st.u_override.copy())


def impose(sim: Simulation, cond: Conditions, inlet_c: Optional[np.ndarray] = None) -> None:
    """Set ``cond`` on a simulation's state directly (for steady evaluations that are not recorded)."""
    st = sim.state
    st.unit_failed[:] = np.where(cond.unit_running == 0, 1, np.where(cond.unit_running == 1, 0, st.unit_failed))
    st.unit_setpoint_c = np.where(np.isfinite(cond.setpoint_c), cond.setpoint_c, st.unit_setpoint_c)
    if cond.utilization is not None:
        st.u_override = np.where(np.isfinite(cond.utilization), cond.utilization, st.u_override)
    if np.isfinite(cond.rack_power_w).any():  # a measured power wins over a utilization set for its row
        inlet = st.rack_inlet_c if inlet_c is None else inlet_c
        u = utilization_for_power(sim.ra, cond.rack_power_w, inlet)
        st.u_override = np.where(np.isfinite(u), u, st.u_override)
    if math.isfinite(cond.outdoor_c) and sim.cplant is not None:
        sim.cplant.state.outdoor_override_c[0] = cond.outdoor_c


@dataclass
class Evaluation:
    """One steady evaluation: the outputs and the simulation they came from (its flow warm-starts the next)."""

    theta: np.ndarray
    y: np.ndarray
    sim: Simulation
    warnings: list[str] = field(default_factory=list)


class SteadyModel:
    """The hall's steady outputs as a function of the parameters, under fixed conditions."""

    def __init__(self, site: Site, params: Sequence[Param], cond: Conditions, *, hall_id: Optional[str] = None,
                 grid_m: Any = None, base_dir: Optional[str] = None) -> None:
        self.site, self.params, self.cond = site, list(params), cond
        self.hall_id = hall_id or site.halls[0].id
        self.grid_m, self.base_dir = grid_m, base_dir
        #: the evaluation every later one starts from (see :meth:`evaluate`)
        self.reference: Optional[Evaluation] = None
        self.evaluations = 0

    def simulation(self, theta: np.ndarray, warm: Optional[Simulation] = None) -> Simulation:
        site = apply(self.site, self.params, theta, self.hall_id) if len(self.params) else self.site
        sim = Simulation(site, self.hall_id, grid_m=self.grid_m, base_dir=self.base_dir, warm_from=warm)
        sim.reuse_solution = None  # a trial model: its solve is not one anybody runs again (the store is left alone)
        return sim

    def evaluate(self, theta: np.ndarray, warm: Optional[Simulation] = None) -> Evaluation:
        """The steady outputs at ``theta``.

        The steady flow of the air model is not unique: marches started from different fields can
        settle on different branches (0.3-1 K apart at some inlets). So every evaluation of a model
        starts from the same field, its first evaluation's (the *reference*), unless ``warm`` says
        otherwise (a Jacobian's steps start from their base): the outputs are then a smooth function of
        theta. The reference itself is solved from the layout's own workloads first, with the imposed
        rack powers set at the inlets found, as a cold start of the site would have it.
        """
        if warm is None and self.reference is not None:
            warm = self.reference.sim
        sim = self.simulation(np.asarray(theta, float), warm)
        try:
            if warm is None:
                impose(sim, dataclasses.replace(self.cond, rack_power_w=np.full(len(self.cond.rack_power_w), np.nan)))
                sim.solve_steady()
            impose(sim, self.cond, sim.rack_inlet_c if warm is None else warm.rack_inlet_c)
            sim.solve_steady()
        except InputError as exc:
            raise InputError(f"{self.cond.label or 'steady window'}: {exc}") from None
        self.evaluations += 1
        ev = Evaluation(np.array(theta, float), model_outputs(sim), sim, list(sim.warnings))
        if self.reference is None:
            self.reference = ev
        return ev

    def jacobian(self, base: Evaluation, progress: Optional[Callable[[str], None]] = None) -> np.ndarray:
        """``dy/dtheta`` at ``base`` (see the module docstring)."""
        out = Outputs.of(base.sim)
        J = np.zeros((out.size, len(self.params)))
        for i, p in enumerate(self.params):
            th = base.theta.copy()
            h = p.step if th[i] + p.step <= p.upper else -p.step
            th[i] += h
            if progress is not None:
                progress(f"sensitivity to {p.name}")
            ev = self.evaluate(th, warm=base.sim)
            J[:, i] = (ev.y - base.y) / h
        return np.nan_to_num(J)


def with_conditions(cond: Conditions, **changes: Any) -> Conditions:
    return dataclasses.replace(cond, **changes)
