"""The rack-front wall-jet options of the march (twin/physics/wall_jet.py; off by default)."""

from __future__ import annotations

import numpy as np
import pytest

from test_airflow_core import _flow, _front_room
from dctwin.twin.physics import thermal
from dctwin.twin.physics.airflow import FlowBC, boundary_flows, port_faces, solve_flow
from dctwin.twin.physics.wall_jet import RackFrontJet, front_cells, jet_floor, thin_jet
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
    with pytest.raises(ValueError, match="rack_front_jet 'up' is not one of off, core, carried, thin, edge"):
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


def _u_mass(ap, pf, q=0.36):
    bf = boundary_flows(ap, FlowBC(np.array([q]), np.zeros(0), q))
    u_mass = np.zeros(ap.n_faces)
    u_mass[pf.face] = pf.sign * bf["port_q"] / pf.area
    return u_mass


def test_thin_jet_is_the_tile_velocity_over_its_share_of_the_cell_and_entrains_from_the_aisle():
    ap = compile_hall(_front_room())
    pf = port_faces(ap)
    jet = RackFrontJet.make(ap, pf, floor="thin")
    u_mass = _u_mass(ap, pf)
    faces, target = thin_jet(ap, jet.front, jet._in, u_mass)
    tx, ty, tw = ap.face_views(np.bincount(faces, target, ap.n_faces))
    z = ap.dz * np.arange(1, 7)
    # W0 = 1 m/s (0.36 m3/s over the 0.36 m2 tile); the jet 0.15 + 0.073 z m thick in the 0.3 m cell
    np.testing.assert_allclose(tw[4:6, 6, 1:7], np.broadcast_to((0.15 + 0.073 * z) / 0.3, (2, 6)))
    # what it entrains comes in from the aisle cell beside it (j 7 -> 6: toward the rack, -y)
    np.testing.assert_allclose(ty[4:6, 7, :7], -0.073)
    assert not tx.any() and np.count_nonzero(tw) == 12 and np.count_nonzero(ty) == 14
    no_entrain = thin_jet(ap, jet.front, jet._in, u_mass, entrain=False)
    assert len(no_entrain[0]) == 12 and (no_entrain[1] > 0).all()
    # feeding the rack: less what the rack took below each face, never below 0
    fed = np.bincount(*thin_jet(ap, jet.front, jet._in, u_mass, feeds=True), ap.n_faces)
    took = 0.36 / (0.6 * 2.1) * ap.dz * np.arange(1, 7) / ap.dy  # per column, over the cell's plan area
    np.testing.assert_allclose(ap.face_views(fed)[2][4, 6, 1:7], np.maximum((0.15 + 0.073 * z) / 0.3 - took, 0.0))
    # no tile, no jet
    assert len(thin_jet(ap, jet.front, jet._in, np.zeros(ap.n_faces))[0]) == 0


def _conserves(ap, flow):
    """Mass: the ports balance and the flow is divergence-free; energy: the steady temperature's ports
    carry away the rack's 4 kW and nothing is colder than the supply."""
    q_in, q_out = float(flow.port_q[flow.port_q > 0].sum()), float(-flow.port_q[flow.port_q < 0].sum())
    assert q_in == pytest.approx(q_out, rel=1e-12)
    assert flow.max_div * ap.cell_volume_m3 < 1e-9 * 0.36 and flow.converged
    T, info = thermal.solve_steady(ap, flow, np.array([4e3]), np.zeros(0), 18.0, return_info=True)
    assert info["energy"]["cooling_w"] == pytest.approx(4e3, rel=1e-3)
    assert info["energy_error"] < 0.01
    assert T[~ap.solid].min() > 18.0 - 1e-6


def test_thin_jet_rises_faster_and_conserves_mass_and_energy():
    site = _front_room()
    ap, plain = _flow(site, tiles=0.36)
    _, thin = _flow(site, tiles=0.36, rack_front_jet="thin")
    top0, top1 = plain.cell_velocity(ap)[4:6, 6, 6, 2].mean(), thin.cell_velocity(ap)[4:6, 6, 6, 2].mean()
    assert top1 > top0 + 0.02  # the jet keeps its speed up the front (0.59 -> 0.64 m/s in the top cell)
    assert not np.array_equal(plain.u, thin.u)
    _conserves(ap, thin)


def test_edge_draws_room_air_in_at_the_ends_of_a_front_and_only_there():
    ap = compile_hall(_front_room())
    pf = port_faces(ap)
    jet = RackFrontJet.make(ap, pf, floor="edge")
    jet.apply(np.ones(ap.shape), np.zeros(ap.n_faces), _u_mass(ap, pf))
    tx, ty, tw = ap.face_views(np.bincount(jet.faces, jet.target, ap.n_faces))
    assert not tw.any() and not ty.any()  # no floor, no entrainment across the front
    # the one rack's front is x 1.2..1.8 (i 4, 5): both its ends draw 0.3 W0 inward, W0 = 1 m/s
    np.testing.assert_allclose(tx[4, 6, :7], 0.3)
    np.testing.assert_allclose(tx[6, 6, :7], -0.3)
    assert np.count_nonzero(tx) == 14  # not the face between the two front cells


def test_edge_conserves_mass_and_energy_and_moves_the_flow_at_the_row_end():
    site = _front_room()
    ap, plain = _flow(site, tiles=0.36)
    _, edge = _flow(site, tiles=0.36, rack_front_jet="edge")
    ux0, ux1 = ap.face_views(plain.u)[0][4, 6, :7], ap.face_views(edge.u)[0][4, 6, :7]
    # the march holds the inflow at the front's end at 0.3 m/s before each step; what is left after the
    # projection is the upper part of the end drawing more room air in (0.25 -> 0.34 m3/s per m2 there)
    assert ux1[3:7].sum() > ux0[3:7].sum() + 0.05
    _conserves(ap, edge)
