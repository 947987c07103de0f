"""Follow a small airflow change without re-marching the flow: scale, then project.

During a transient the racks' fans ramp with their inlet temperature and load, a few
per cent at a time. Re-marching the FFD flow to a new steady state after each such
change costs seconds in a big hall; the change itself hardly moves the flow pattern.
:func:`adjust_flow` takes the last marched flow ``U``, scales it by the ratio of the new
to the old total supply ``s``, puts the new airflows on the port faces and projects it
back onto divergence-free fields (the same pressure solve as one FFD step):

    U' = s U + grad(phi),   div U' = 0,   U'·n = Q_port / A on every port face.

For a change that scales every airflow by the same factor this is exact (a steady
high-Reynolds flow scales with its boundary flows); otherwise the momentum pattern is
the old one and only the mass balance is new, the closest divergence-free field to the
scaled old one in the L2 sense. The engine re-marches in full when an element starts or
stops or its airflow moved by more than :data:`dctwin.twin.sim.flows.FLOW_REMARCH` since the
last march. The eddy viscosity is re-evaluated on the new field (Chen's zero-equation
model, as in the march), so the temperature transport sees the adjusted mixing.
"""

from __future__ import annotations

import time

import numpy as np

from dctwin.twin.physics.airflow import Flow, FlowBC, boundary_flows, eddy_viscosity, make_flow, port_faces, project


def adjust_flow(ap, bc: FlowBC, flow: Flow, *, tol: float = 1e-10) -> Flow:
    """The flow ``flow`` carried over to the airflows ``bc`` by scaling and one projection.

    Returns a new :class:`~dctwin.twin.physics.airflow.Flow` (``steps`` = 0, ``converged`` as the
    marched flow it came from; ``adjusted`` = True). ``flow`` is not changed.
    """
    t0 = time.perf_counter()
    bf = boundary_flows(ap, bc)
    pf = port_faces(ap)
    ubc = np.zeros(ap.n_faces)
    ubc[pf.face] = pf.sign * bf["port_q"] / pf.area
    q_old = float(flow.port_q[flow.port_q > 0].sum())
    q_new = float(bf["port_q"][bf["port_q"] > 0].sum())
    s = q_new / q_old if q_old > 1e-12 else 1.0
    uf = flow.u * s
    phi = flow.phi * s
    closed = ap.cond == 0.0
    uf[closed] = ubc[closed]
    uf[(ap.cond > 0.0) & (ap.cond < 1.0)] = 0.0
    hmin = min(ap.dx, ap.dy, ap.dz)
    vmax = float(np.abs(ubc).max()) if ubc.size else 0.0
    project(ap, uf, phi, tol * max(vmax, 1e-3) / hmin, max_iter=5000)
    out = make_flow(ap, uf, phi, eddy_viscosity(ap, uf), bf, 0, flow.sim_time_s, flow.converged, t0,
                    list(bf["warnings"]))
    out.scheme = flow.scheme
    out.adjusted = True
    return out
