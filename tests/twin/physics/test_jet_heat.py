"""The rack-front jets in the steady temperature solve (session 25: ``thermal.FRONT_JET_HEAT``,
``wall_jet.JetTubes``; off by default): what the streams carry, that every cell keeps its balance and the
solve its energy with them on, that off is the solve without them bit for bit, and what they do on a CFD room."""

from __future__ import annotations

import numpy as np
import pytest

from air_cases import cfd_site
from cfd_table import inlet_errors
from test_airflow_core import _flow, _front_room
from test_cfd_rooms import load_room
from dctwin.twin.physics import thermal, wall_jet
from dctwin.twin.sim.engine import Simulation

#: the front room's rack: 0.36 m3/s through a 0.6 x 2.1 m front, cells of 0.3 m; its tile 0.36 m3/s over 0.36 m2
INTAKE_Q = 0.36 / (0.6 * 2.1) * 0.3 * 0.3
EDGE_Q = 0.3 * 1.0 * 0.3 * 0.3  # HEAT_EDGE x W0 (1 m/s) x the front cell across (0.3 m) x the layer (0.3 m)


def _divergence(ap, c) -> np.ndarray:
    """Net inflow (m3/s) of every cell under the coefficients' fluxes and ports."""
    div = -(c.fx[1:] - c.fx[:-1]) - (c.fy[:, 1:] - c.fy[:, :-1]) - (c.fz[:, :, 1:] - c.fz[:, :, :-1])
    np.add.at(div.reshape(-1), c.pc, c.pq)
    return div


def test_the_free_edges_of_a_front_draw_room_air_that_the_intakes_take():
    ap, flow = _flow(_front_room(), tiles=0.36)
    jt = thermal.jet_tubes(ap, flow)
    cols = [tuple(int(v) for v in np.unravel_index(c, ap.shape)[:2]) for c in jt.cells[:, 0]]
    assert cols == [(4, 6), (5, 6)]  # the two columns in front of the rack, over the tile
    # each has one free edge along the front (x): i 3 beside column 4, i 6 beside column 5, every layer 0..6
    for t, ni in ((0, 3), (1, 6)):
        live = jt.edge_q[t] > 0
        assert live.sum() == 7
        cells = np.unravel_index(jt.edge_cells[t][live], ap.shape)
        assert set(cells[0]) == {ni} and set(cells[1]) == {6}
    np.testing.assert_allclose(jt.edge_q[jt.edge_q > 0], EDGE_Q)
    # the faces between carry that much less toward the jet (x 1.2 inward +x, x 1.8 inward -x)
    np.testing.assert_allclose(jt.fx_sub[4, 6, :7], EDGE_Q)
    np.testing.assert_allclose(jt.fx_sub[6, 6, :7], -EDGE_Q)
    # no tile core (slot 0): nothing arrives at layer 0; above, the intakes take what arrives, up to their flow
    np.testing.assert_allclose(jt.take[:, 0], 0.0)
    np.testing.assert_allclose(jt.take[:, 1:7], INTAKE_Q)
    np.testing.assert_allclose(jt.b_out[:, 6], 7 * EDGE_Q)  # nothing taken from it is lost: it grows by the edge
    assert not jt.pq_add[thermal.port_faces(ap).group["tile"]].any()


@pytest.mark.parametrize("slot", [0.0, 0.15])
def test_every_cell_keeps_its_balance_with_the_streams(monkeypatch, slot):
    monkeypatch.setattr(wall_jet, "HEAT_SLOT_M", slot)
    monkeypatch.setattr(wall_jet, "HEAT_SPREAD", 0.073 if slot else 0.0)
    ap, flow = _flow(_front_room(), tiles=0.36)
    c, jt = thermal.jet_coefficients(ap, flow)
    assert jt.n == 2 and (jt.ent > 0).any()
    plain = _divergence(ap, thermal.coefficients(ap, flow))  # the march's own residual, ~1e-12 m3/s
    assert np.abs(_divergence(ap, c) - plain)[~ap.solid].max() < 1e-15
    if slot:  # the tile's core leaves the tile's inflow into the cell
        tiles = thermal.port_faces(ap).group["tile"]
        assert jt.pq_add[tiles].sum() == pytest.approx(-2 * 0.09 * 0.15 / 0.3)


def _solve(ap, flow, tvd=False):
    return thermal.solve_steady(ap, flow, np.array([4e3]), np.zeros(0), 18.0, return_info=True, tvd=tvd)


@pytest.mark.parametrize("tvd", [False, True])
def test_on_the_rack_reads_the_drawn_room_air_and_energy_is_conserved(monkeypatch, tvd):
    ap, flow = _flow(_front_room(), tiles=0.36)
    T0, off = _solve(ap, flow, tvd)
    monkeypatch.setattr(thermal, "FRONT_JET_HEAT", True)
    T1, on = _solve(ap, flow, tvd)
    # the edges carry room air (warmer than the tile's) to the intakes: the rack's inlet rises
    assert on["rack_inlet_c"][0] > off["rack_inlet_c"][0] + 0.05
    # its ports carry away the rack's 4 kW (the streams are lossless), no cell colder than the supply
    assert on["energy"]["cooling_w"] == pytest.approx(4e3, rel=1e-4)
    assert on["energy_error"] < 1e-4
    assert T1[~ap.solid].min() > 18.0 - 1e-6
    # port_means reads the same inlets as the solve's coupling
    np.testing.assert_allclose(thermal.port_means(ap, flow, T1)[0], on["rack_inlet_c"], atol=1e-12)
    exhaust = on["rack_inlet_c"] + 4e3 / (thermal.RHO_CP * 0.36)
    np.testing.assert_allclose(on["rack_exhaust_c"], exhaust, atol=1e-9)


def test_off_is_the_solve_without_streams_bit_for_bit(monkeypatch):
    assert thermal.FRONT_JET_HEAT is False
    ap, flow = _flow(_front_room(), tiles=0.36)
    T0, info0 = _solve(ap, flow)
    assert not any(isinstance(k, tuple) and k[0] in ("jet_tubes", "coeffs_jet") for k in flow.cache)
    rin0 = thermal.port_means(ap, flow, T0)[0]
    monkeypatch.setattr(thermal, "FRONT_JET_HEAT", True)
    _solve(ap, flow)  # the streams are built and cached on the flow
    monkeypatch.setattr(thermal, "FRONT_JET_HEAT", False)
    T2, info2 = _solve(ap, flow)
    np.testing.assert_array_equal(T0, T2)
    np.testing.assert_array_equal(rin0, thermal.port_means(ap, flow, T2)[0])
    assert info0["sweeps"] == info2["sweeps"]


def test_a_run_refuses_it(monkeypatch):
    ap, flow = _flow(_front_room(), tiles=0.36)
    T = thermal.initial_temperature(ap, 20.0)
    monkeypatch.setattr(thermal, "FRONT_JET_HEAT", True)
    with pytest.raises(NotImplementedError, match="steady solves only"):
        thermal.step(ap, flow, T, 1.0, np.array([30.0]), np.zeros(0), 18.0)


def test_on_case_b1_the_row_ends_come_toward_the_cfd(monkeypatch):
    """B1 (a tuned room; docs/validation.md, "Session 25"): uniform 1.42 -> 1.27 K RMS, worst rack 3.2 -> 2.6 K."""
    case = load_room("case_B1")
    pc = "uniform_4kW"
    site = cfd_site(case, pc)
    off = np.asarray(inlet_errors(Simulation(site).solve_steady().to_json(), site, case, pc))
    monkeypatch.setattr(thermal, "FRONT_JET_HEAT", True)
    on = np.asarray(inlet_errors(Simulation(site).solve_steady().to_json(), site, case, pc))
    rms = lambda e: float(np.sqrt(np.mean(e ** 2)))  # noqa: E731
    assert rms(on) < rms(off) - 0.1
    assert np.abs(on).max() < np.abs(off).max() - 0.3
