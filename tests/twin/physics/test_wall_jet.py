"""The rack-front wall-jet options of the march (twin/physics/wall_jet.py; off by default)."""

from __future__ import annotations

import numpy as np
import pytest

from test_airflow_core import _flow, _front_room
from dctwin.twin.physics.airflow import FlowBC, boundary_flows, port_faces, solve_flow
from dctwin.twin.physics.wall_jet import RackFrontJet, front_cells, jet_floor
from dctwin.twin.sim.compile import compile_hall


def test_front_cells_are_the_cells_before_the_rack_face():
    ap = compile_hall(_front_room())
    front = front_cells(ap, port_faces(ap))
    mask = np.zeros(ap.shape, bool)
    mask[4:6, 6, :7] = True  # x 1.2..1.8, y 1.8..2.1, z 0..2.1
    np.testing.assert_array_equal(front, mask)


def test_jet_floor_is_the_tile_velocity_in_its_core_less_what_the_rack_took_when_carried():
    ap = compile_hall(_front_room())
    pf = port_faces(ap)
    bf = boundary_flows(ap, FlowBC(np.array([0.36]), np.zeros(0), 0.36))
    u_mass = np.zeros(ap.n_faces)
    u_mass[pf.face] = pf.sign * bf["port_q"] / pf.area
    front = front_cells(ap, pf)
    faces, target = jet_floor(ap, front, u_mass)
    fw = np.zeros(ap.n_faces)
    fw[faces] = target
    w = ap.face_views(fw)[2]
    np.testing.assert_allclose(w[4:6, 6, 1:7], 1.0)  # 0.36 m3/s over the 0.36 m2 tile; z <= 1.8 m is in the core
    assert not np.delete(w.reshape(-1), np.ravel_multi_index(np.nonzero(w), w.shape)).any()
    # carried: the tile's 0.09 m3/s per 0.3 m column less the rack's intake below each face
    intake = np.zeros(ap.shape)
    intake[4:6, 6, :7] = 0.36 / (0.6 * 2.1) * ap.dx * ap.dz
    faces, target = jet_floor(ap, front, u_mass, intake)
    fw[:] = 0.0
    fw[faces] = target
    k = np.arange(1, 7)
    expect = np.maximum(1.0 - k * intake[4, 6, 0] / (ap.dx * ap.dy), 0.0)
    np.testing.assert_allclose(w[4, 6, 1:7], expect)


def test_off_is_the_march_without_it_and_bad_values_are_named():
    site = _front_room()
    ap, plain = _flow(site, tiles=0.36)
    assert RackFrontJet.make(ap, port_faces(ap)) is None
    _, off = _flow(site, tiles=0.36, rack_front_nu=1.0, rack_front_jet="off")
    np.testing.assert_array_equal(plain.u, off.u)
    with pytest.raises(ValueError, match="rack_front_nu 1.5 is out of range"):
        _flow(site, tiles=0.36, rack_front_nu=1.5)
    with pytest.raises(ValueError, match="rack_front_jet 'up' is not one of off, core, carried"):
        _flow(site, tiles=0.36, rack_front_jet="up")


@pytest.mark.parametrize("kw", [{"rack_front_jet": "core"}, {"rack_front_nu": 0.0}])
def test_the_jet_on_the_front_rises_faster_and_mass_still_closes(kw):
    site = _front_room()
    ap, plain = _flow(site, tiles=0.36)
    _, jet = _flow(site, tiles=0.36, **kw)
    w0 = plain.cell_velocity(ap)[4:6, 6, 2:7, 2].mean()
    w1 = jet.cell_velocity(ap)[4:6, 6, 2:7, 2].mean()
    assert w1 > w0 + 0.02
    q_in, q_out = float(jet.port_q[jet.port_q > 0].sum()), float(-jet.port_q[jet.port_q < 0].sum())
    assert q_in == pytest.approx(q_out, rel=1e-12)
    assert jet.max_div * ap.cell_volume_m3 < 1e-9 * 0.36 and jet.converged
    # the same after a warm start at lower airflows as from cold
    bc = FlowBC(np.array([0.3]), np.zeros(0), 0.3)
    warm, cold = solve_flow(ap, bc, init=jet, **kw), solve_flow(ap, bc, **kw)
    assert np.abs(warm.cell_velocity(ap) - cold.cell_velocity(ap)).max() < 0.1
