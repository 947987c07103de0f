"""Following small airflow changes by scaling and projecting the last marched flow."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.sim.compile import compile_hall
from dctwin.twin.model.demos import load_demo
from dctwin.twin.physics import airflow, thermal
from dctwin.twin.physics.flow_adjust import adjust_flow


@pytest.fixture(scope="module")
def marched():
    site = load_demo("small")
    hall = site.halls[0]
    ap = compile_hall(site, hall.id, 0.6)
    rack_q = np.array([r.design_airflow_m3s for r in hall.racks])
    unit_q = np.array([u.airflow_m3s for u in hall.cooling_units])
    bc = airflow.FlowBC(rack_q, unit_q)
    return ap, bc, airflow.solve_flow(ap, bc)


def _rel(a, b) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def test_scaling_every_airflow_scales_the_flow(marched):
    ap, bc, flow = marched
    s = 1.15
    adj = adjust_flow(ap, airflow.FlowBC(bc.rack_airflow_m3s * s, bc.unit_airflow_m3s * s), flow)
    assert _rel(adj.u, s * flow.u) < 1e-6
    assert adj.rack_q == pytest.approx(s * flow.rack_q, rel=1e-12)
    assert adj.port_q == pytest.approx(s * flow.port_q, rel=1e-12)
    assert flow.u is not adj.u and getattr(adj, "adjusted", False)


def test_one_rack_faster_keeps_mass_and_moves_toward_the_remarched_flow(marched):
    ap, bc, flow = marched
    rq = bc.rack_airflow_m3s.copy()
    rq[3] *= 1.25
    bc2 = airflow.FlowBC(rq, bc.unit_airflow_m3s)
    adj = adjust_flow(ap, bc2, flow)
    # divergence-free to solver tolerance, mass closes, the rack gets its new airflow
    vmax = float(np.abs(flow.u).max())
    assert airflow.max_divergence(ap, adj.u) < 1e-6 * vmax / min(ap.dx, ap.dy, ap.dz)
    q_in, q_out = airflow.mass_balance(ap, adj)
    assert q_in == pytest.approx(q_out, rel=1e-9)
    assert adj.rack_q[3] == pytest.approx(rq[3], rel=1e-12)
    # closer to a full re-march than the old flow is
    full = airflow.solve_flow(ap, bc2, init=flow)
    assert np.linalg.norm(adj.u - full.u) < np.linalg.norm(flow.u - full.u)


def test_temperature_on_an_adjusted_flow_stays_within_its_inflow_temperatures(marched):
    """Upwind transport is bounded only on a divergence-free flux: a flow left with sources or
    sinks after the change would push cells outside the inflow temperatures."""
    ap, bc, flow = marched
    rq = bc.rack_airflow_m3s * np.linspace(0.9, 1.1, len(bc.rack_airflow_m3s))
    adj = adjust_flow(ap, airflow.FlowBC(rq, bc.unit_airflow_m3s), flow)
    T = np.full(ap.shape, 22.0)
    exhaust = np.full(ap.n_racks, 32.0)
    supply = np.full(ap.n_units, 18.0)
    for _ in range(30):
        T = thermal.step(ap, adj, T, 1.0, exhaust, supply, 18.0)
    fluid = ~ap.solid
    assert np.isfinite(T).all()
    assert T[fluid].min() >= 18.0 - 1e-6 and T[fluid].max() <= 32.0 + 1e-6
    assert T[fluid].max() > 25.0  # the exhaust air got into the room
